import { createContext, useContext, useState, type ReactNode } from 'react';

/** The time range every page shows: a preset relative to now, or a custom one. */
export interface TimeRange {
  preset: string;
  from: string;
  to: string;
  bucket: 'hour' | 'day';
}

const PRESETS: Record<string, number> = {
  '1h': 3_600_000,
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
};
const STORAGE = 'audit-ledger.range';

function rangeOf(preset: string, from?: string, to?: string): TimeRange {
  const span = PRESETS[preset];
  const end = span !== undefined || !to ? new Date() : new Date(to);
  // A minute ahead: rows recorded while the page is open stay inside the range.
  if (span !== undefined) end.setTime(end.getTime() + 60_000);
  const start = span !== undefined || !from ? new Date(end.getTime() - (span ?? PRESETS['24h']!)) : new Date(from);
  const bucket = end.getTime() - start.getTime() <= 2 * 86_400_000 ? 'hour' : 'day';
  return { preset, from: start.toISOString(), to: end.toISOString(), bucket };
}

interface RangeState {
  range: TimeRange;
  setRange(range: TimeRange): void;
}

const RangeContext = createContext<RangeState | null>(null);

export function useRange(): TimeRange {
  const state = useContext(RangeContext);
  if (!state) throw new Error('useRange outside RangeProvider');
  return state.range;
}

export function RangeProvider({ children }: { children: ReactNode }) {
  const [range, setState] = useState<TimeRange>(() => {
    const saved = sessionStorage.getItem(STORAGE);
    if (saved) {
      const parsed = JSON.parse(saved) as TimeRange;
      return rangeOf(parsed.preset, parsed.from, parsed.to);
    }
    return rangeOf('24h');
  });
  const setRange = (next: TimeRange) => {
    sessionStorage.setItem(STORAGE, JSON.stringify(next));
    setState(next);
  };
  return <RangeContext.Provider value={{ range, setRange }}>{children}</RangeContext.Provider>;
}

const toLocalInput = (iso: string) => {
  const date = new Date(iso);
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};

/** The picker in the header: presets, or from/to (local time). Shared by every page. */
export function RangePicker() {
  const state = useContext(RangeContext)!;
  const { range } = state;
  const [from, setFrom] = useState(toLocalInput(range.from));
  const [to, setTo] = useState(toLocalInput(range.to));
  return (
    <form
      className="range"
      aria-label="Time range"
      onSubmit={(event) => {
        event.preventDefault();
        state.setRange(rangeOf('custom', new Date(from).toISOString(), new Date(to).toISOString()));
      }}
    >
      <label>
        Range
        <select
          value={range.preset}
          onChange={(event) => {
            const next = rangeOf(event.target.value, range.from, range.to);
            setFrom(toLocalInput(next.from));
            setTo(toLocalInput(next.to));
            state.setRange(next);
          }}
        >
          <option value="1h">Last hour</option>
          <option value="24h">Last 24 hours</option>
          <option value="7d">Last 7 days</option>
          <option value="30d">Last 30 days</option>
          <option value="custom">Custom</option>
        </select>
      </label>
      {range.preset === 'custom' && (
        <>
          <label>
            From
            <input type="datetime-local" value={from} onChange={(event) => setFrom(event.target.value)} required />
          </label>
          <label>
            To
            <input type="datetime-local" value={to} onChange={(event) => setTo(event.target.value)} required />
          </label>
          <button type="submit">Apply</button>
        </>
      )}
      <button type="button" onClick={() => state.setRange(rangeOf(range.preset, range.from, range.to))}>
        Refresh
      </button>
    </form>
  );
}
