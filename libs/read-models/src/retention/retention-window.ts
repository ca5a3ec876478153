const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** The start of the UTC hour `at` is in. */
export function floorToHour(at: Date): Date {
  return new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS);
}

/**
 * Where retention cuts: `retentionDays` before `now`, down to the start of its UTC hour, so that every bucket of
 * the summary rollups (hour, day, week) before it is whole. Undefined for 0 days: keep forever.
 */
export function retentionCutoff(now: Date, retentionDays: number): Date | undefined {
  if (!Number.isInteger(retentionDays) || retentionDays < 0) {
    throw new RangeError(`retentionDays must be a whole number of days, 0 or more: ${retentionDays}`);
  }
  if (retentionDays === 0) return undefined;
  return floorToHour(new Date(now.getTime() - retentionDays * DAY_MS));
}

/** A summary range as it can still be answered when detail rows before `trimmedBefore` are gone. */
export interface RetainedRange<Q> {
  query: Q;
  /** The range reaches into the trimmed period: only the rollups answer it there. */
  reachesTrimmed: boolean;
  trimmedBefore?: Date;
}

/**
 * A summary query over a history trimmed before `trimmedBefore` (an hour boundary): bounds inside the trimmed period
 * are taken down to the start of their hour (whole rollup hours answer them; the rows inside an hour are gone), and
 * `exact` (which needs the rows) is dropped when the range reaches into it.
 */
export function retainedRange<Q extends { from?: Date; to?: Date; exact?: boolean }>(
  query: Q,
  trimmedBefore: Date | undefined,
): RetainedRange<Q> {
  if (!trimmedBefore) return { query, reachesTrimmed: false };
  const reachesTrimmed = query.from === undefined || query.from < trimmedBefore;
  if (!reachesTrimmed) return { query, reachesTrimmed };
  const inside = (at: Date | undefined): Date | undefined =>
    at !== undefined && at < trimmedBefore ? floorToHour(at) : at;
  const from = inside(query.from);
  const to = inside(query.to);
  const { exact: _exact, from: _from, to: _to, ...rest } = query;
  return {
    query: { ...rest, ...(from ? { from } : {}), ...(to ? { to } : {}) } as Q,
    reachesTrimmed,
    trimmedBefore,
  };
}
