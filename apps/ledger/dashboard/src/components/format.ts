export const time = (iso: string | null | undefined) =>
  iso
    ? new Date(iso)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : '—';

export const duration = (ms: number | null | undefined) => {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
};

/** Severity and status colours (CSS classes), with the word always shown: colour is never the only signal. */
export const tone = (value: string | null | undefined) => `tone tone-${(value ?? 'none').replace(/[^a-z_]/gi, '')}`;
