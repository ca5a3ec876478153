import { ApiError, get, type Page } from '../api';
import { Show, useLoad } from '../components/async';
import { DataTable, Pager, useCursorPages, type Columns } from '../components/DataTable';
import { duration } from '../components/format';
import { useRange } from '../range';
import { href } from '../router';
import type { SessionSummary, Summaries, SummaryItem } from '../types';
import { ExecutionsTable } from './Executions';

export interface SessionRow {
  sessionId: string;
  executions: number;
  successes: number;
  failures: number;
  totalDurationMs: number;
  mismatches: number | null;
  approved: number | null;
  rejected: number | null;
}

const sum = (values: Record<string, number>) => Object.values(values).reduce((total, n) => total + n, 0);

/** Folds the buckets of `GET /v1/summaries?groupBy=session` into one row per session. */
function sessionRows(items: SummaryItem[]): SessionRow[] {
  const rows = new Map<string, SessionRow>();
  for (const item of items) {
    const sessionId = item.session ?? '';
    if (!sessionId) continue;
    const row = rows.get(sessionId) ?? {
      sessionId,
      executions: 0,
      successes: 0,
      failures: 0,
      totalDurationMs: 0,
      mismatches: 0,
      approved: null,
      rejected: null,
    };
    row.executions += item.executions;
    row.successes += item.successes;
    row.failures += item.failures;
    row.totalDurationMs += item.totalDurationMs;
    row.mismatches = (row.mismatches ?? 0) + sum(item.mismatchesByKind);
    if (item.approved !== undefined) row.approved = (row.approved ?? 0) + item.approved;
    if (item.rejected !== undefined) row.rejected = (row.rejected ?? 0) + item.rejected;
    rows.set(sessionId, row);
  }
  return [...rows.values()].sort((a, b) => b.executions - a.executions);
}

const orNa = (value: number | null) => (value === null ? <span className="not-available">not available</span> : value);

const columns: Columns<SessionRow> = [
  {
    id: 'session',
    header: 'Session',
    cell: ({ row }) => <a href={href('sessions', row.original.sessionId)}>{row.original.sessionId}</a>,
  },
  { id: 'executions', header: 'Actions', cell: ({ row }) => row.original.executions },
  { id: 'successes', header: 'Successful', cell: ({ row }) => row.original.successes },
  { id: 'failures', header: 'Failed', cell: ({ row }) => row.original.failures },
  { id: 'mismatches', header: 'Mismatches', cell: ({ row }) => orNa(row.original.mismatches) },
  { id: 'approved', header: 'Approved', cell: ({ row }) => orNa(row.original.approved) },
  { id: 'rejected', header: 'Rejected', cell: ({ row }) => orNa(row.original.rejected) },
  { id: 'duration', header: 'Total duration', cell: ({ row }) => duration(row.original.totalDurationMs) },
];

const rowOf = (session: SessionSummary): SessionRow => ({
  sessionId: session.sessionId,
  executions: session.totalActions,
  successes: session.successful,
  failures: session.failed,
  totalDurationMs: session.totalDurationMs,
  mismatches: null,
  approved: session.approved,
  rejected: session.rejected,
});

const is404 = (error: unknown) => error instanceof ApiError && error.status === 404;

/** Sessions of the range: `GET /v1/sessions`; on a ledger without it, folded from `GET /v1/summaries?groupBy=session`. */
export function SessionsPage() {
  const range = useRange();
  const pages = useCursorPages(JSON.stringify(range));
  const [loaded] = useLoad(
    async (signal): Promise<Page<SessionRow>> => {
      try {
        const page = await get<Page<SessionSummary>>(
          '/v1/sessions',
          { from: range.from, to: range.to, limit: 25, cursor: pages.cursor },
          signal,
        );
        return { items: page.items.map(rowOf), nextCursor: page.nextCursor };
      } catch (error) {
        if (!is404(error)) throw error;
      }
      const summaries = await get<Summaries>(
        '/v1/summaries',
        { groupBy: 'session', bucket: 'day', from: range.from, to: range.to },
        signal,
      );
      return { items: sessionRows(summaries.items), nextCursor: null };
    },
    `${JSON.stringify(range)}|${pages.cursor}`,
  );
  return (
    <section aria-labelledby="sessions-title">
      <h1 id="sessions-title">Sessions</h1>
      <Show loaded={loaded}>
        {(page) => (
          <>
            <DataTable caption="Sessions" columns={columns} rows={page.items} rowKey={(row) => row.sessionId} />
            <Pager page={pages.page} nextCursor={page.nextCursor} onNext={pages.next} onPrevious={pages.previous} />
          </>
        )}
      </Show>
    </section>
  );
}

interface SessionView {
  row: SessionRow | undefined;
  risk: [string, number][];
}

/** One session's summary: `GET /v1/sessions/:sessionId`; on a ledger without it, from the summaries in the range. */
async function loadSession(
  sessionId: string,
  range: ReturnType<typeof useRange>,
  signal: AbortSignal,
): Promise<SessionView> {
  try {
    const session = await get<SessionSummary>(`/v1/sessions/${encodeURIComponent(sessionId)}`, {}, signal);
    return { row: rowOf(session), risk: Object.entries(session.byRisk).filter(([, n]) => n > 0) };
  } catch (error) {
    if (!is404(error)) throw error;
  }
  const params = { sessionId, bucket: 'day', from: range.from, to: range.to };
  const [bySession, byRisk] = await Promise.all([
    get<Summaries>('/v1/summaries', { ...params, groupBy: 'session' }, signal),
    get<Summaries>('/v1/summaries', { ...params, groupBy: 'session,riskLevel' }, signal),
  ]);
  const risk = new Map<string, number>();
  for (const item of byRisk.items) {
    const level = item.riskLevel ?? 'none';
    if (item.executions > 0) risk.set(level, (risk.get(level) ?? 0) + item.executions);
  }
  return { row: sessionRows(bySession.items)[0], risk: [...risk.entries()] };
}

/** The old audit store's session summary: total actions, by risk, approved, rejected, successful, failed, duration. */
export function SessionPage({ sessionId }: { sessionId: string }) {
  const range = useRange();
  const [loaded] = useLoad((signal) => loadSession(sessionId, range, signal), JSON.stringify([range, sessionId]));
  return (
    <section aria-labelledby="session-title">
      <h1 id="session-title">Session {sessionId}</h1>
      <Show loaded={loaded}>
        {({ row, risk }) =>
          row ? (
            <dl className="summary" aria-label="Session summary">
              <div>
                <dt>Total actions</dt>
                <dd>{row.executions}</dd>
              </div>
              <div>
                <dt>By risk</dt>
                <dd>{risk.map(([level, n]) => `${level}: ${n}`).join(', ') || '—'}</dd>
              </div>
              <div>
                <dt>Approved</dt>
                <dd>{orNa(row.approved)}</dd>
              </div>
              <div>
                <dt>Rejected</dt>
                <dd>{orNa(row.rejected)}</dd>
              </div>
              <div>
                <dt>Successful</dt>
                <dd>{row.successes}</dd>
              </div>
              <div>
                <dt>Failed</dt>
                <dd>{row.failures}</dd>
              </div>
              {row.mismatches !== null && (
                <div>
                  <dt>Mismatches</dt>
                  <dd>{row.mismatches}</dd>
                </div>
              )}
              <div>
                <dt>Total duration</dt>
                <dd>{duration(row.totalDurationMs)}</dd>
              </div>
            </dl>
          ) : (
            <p>No executions of this session in the range.</p>
          )
        }
      </Show>
      <h2>Executions of this session</h2>
      <ExecutionsTable fixed={{ sessionId }} />
    </section>
  );
}
