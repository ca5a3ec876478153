import { useEffect, useRef, useState } from 'react';
import { ApiError, followEvents, get, type Page } from '../api';
import { NotAvailable } from '../components/async';
import { Filters, type FilterValues } from '../components/Filters';
import { time } from '../components/format';
import { Review } from '../components/Review';
import { useRange } from '../range';
import { href } from '../router';
import type { Mismatch } from '../types';

const KINDS = [
  'command_not_approved',
  'dangerous_deviation',
  'policy_violation',
  'no_approval',
  'approval_rejected',
  'approval_expired',
  'approval_revoked',
  'max_executions_exceeded',
  'token_replay',
  'approval_unused',
];

const newestFirst = (a: Mismatch, b: Mismatch) => {
  const [x, y] = [BigInt(a.globalPosition), BigInt(b.globalPosition)];
  return x === y ? 0 : x > y ? -1 : 1;
};

function merge(rows: Mismatch[], incoming: Mismatch[]): Mismatch[] {
  const byId = new Map(rows.map((row) => [row.mismatchId, row]));
  for (const row of incoming) byId.set(row.mismatchId, { ...byId.get(row.mismatchId), ...row });
  return [...byId.values()].sort(newestFirst);
}

const matches = (row: Mismatch, filters: FilterValues) =>
  (!filters.kind || row.kinds.includes(filters.kind)) &&
  (!filters.severity || row.severity === filters.severity) &&
  (!filters.status || filters.status === 'open');
// (a new mismatch is always open: it shows under 'any' and 'open' only)

type Live = 'connecting' | 'open' | 'reconnecting' | 'unavailable' | 'refused';

/**
 * Mismatches, live: the page lists the range's mismatches and adds new ones as the ledger detects them (server-sent
 * events from `/v1/mismatches/stream`, resumed after a disconnect from the last event seen; on a ledger without it,
 * the alert stream `/v1/alerts/stream`, each alert read back from the query API). New rows go on top inside a
 * scrolling region of fixed height: nothing else on the page moves.
 */
export function MismatchesPage() {
  const range = useRange();
  const [filters, setFilters] = useState<FilterValues>({});
  const [rows, setRows] = useState<Mismatch[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [live, setLive] = useState<Live>('connecting');
  const [arrived, setArrived] = useState(0);
  const filtersRef = useRef(filters);
  filtersRef.current = filters;

  useEffect(() => {
    const abort = new AbortController();
    setRows([]);
    setError(null);
    get<Page<Mismatch>>(
      '/v1/mismatches',
      { ...filters, from: range.from, to: range.to, limit: 200 },
      abort.signal,
    ).then(
      (page) => setRows((current) => merge(current, page.items)),
      (caught: unknown) => {
        if (abort.signal.aborted) return;
        const unknownFilter =
          caught instanceof ApiError && caught.status === 400 && /unknown query parameter/.test(caught.message);
        setError(
          unknownFilter
            ? 'Filtering mismatches by session or worker is not available on this ledger (it needs a newer ledger API).'
            : caught instanceof Error
              ? caught.message
              : String(caught),
        );
      },
    );
    return () => abort.abort();
  }, [range, filters]);

  useEffect(() => {
    const add = (incoming: Mismatch[]) => {
      const wanted = incoming.filter((row) => matches(row, filtersRef.current));
      if (wanted.length === 0) return;
      setArrived((n) => n + wanted.length);
      setRows((current) => merge(current, wanted));
    };
    let stopFallback: (() => void) | undefined;
    const stop = followEvents(
      '/v1/mismatches/stream',
      (event) => {
        if (event.event === 'mismatch') add([JSON.parse(event.data) as Mismatch]);
      },
      (status) => {
        if (status !== 'unavailable') return setLive(status);
        // A ledger without the mismatch stream: its alert stream, each MismatchDetected read back from the query API.
        stopFallback = followEvents(
          '/v1/alerts/stream',
          (event) => {
            if (event.event !== 'MismatchDetected') return;
            const alert = JSON.parse(event.data) as { alertId: string; globalPosition: string };
            get<Page<Mismatch>>('/v1/mismatches', { minPosition: alert.globalPosition, limit: 20 }).then(
              (page) => add(page.items.filter((row) => row.mismatchId === alert.alertId)),
              () => undefined,
            );
          },
          (fallback) => setLive(fallback),
        );
      },
    );
    return () => {
      stop();
      stopFallback?.();
    };
  }, []);

  const update = (updated: Mismatch) => setRows((current) => merge(current, [updated]));
  return (
    <section aria-labelledby="mismatches-title">
      <h1 id="mismatches-title">Mismatches</h1>
      <p className="live-status" role="status" aria-live="polite">
        <span className={`dot dot-${live}`} aria-hidden="true" /> Live: {live}
        {arrived > 0 ? ` · ${arrived} new since the page opened` : ''}
      </p>
      {live === 'unavailable' && <NotAvailable what="Live updates" />}
      <Filters
        label="Mismatch filters"
        values={filters}
        onApply={setFilters}
        fields={[
          { name: 'severity', label: 'Severity', options: ['low', 'medium', 'high', 'critical'] },
          { name: 'kind', label: 'Kind', options: KINDS },
          { name: 'status', label: 'Review', options: ['open', 'reviewed', 'confirmed', 'false_positive'] },
          { name: 'sessionId', label: 'Session' },
          { name: 'workerId', label: 'Worker' },
        ]}
      />
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="live-region table-wrap" tabIndex={0} role="region" aria-label="Mismatches, newest first">
        <table>
          <caption className="sr-only">Mismatches, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Detected</th>
              <th scope="col">Severity</th>
              <th scope="col">Kind</th>
              <th scope="col">Explanation</th>
              <th scope="col">Approval</th>
              <th scope="col">Review</th>
            </tr>
          </thead>
          <tbody>
            {rows.length === 0 && (
              <tr>
                <td colSpan={6} className="empty">
                  No mismatches in this range and filter.
                </td>
              </tr>
            )}
            {rows.map((row) => (
              <tr key={row.mismatchId} className={`severity-${row.severity}`} data-mismatch-id={row.mismatchId}>
                <td data-label="Detected">{time(row.detectedAt)}</td>
                <td data-label="Severity">
                  <span className={`tone tone-${row.severity}`}>{row.severity}</span>
                </td>
                <td data-label="Kind">{row.kind}</td>
                <td data-label="Explanation" className="explanation">
                  <span className="clamp" title={row.explanation}>
                    {row.explanation}
                  </span>
                </td>
                <td data-label="Approval">
                  {row.approvalId ? <a href={href('approvals', row.approvalId)}>{row.approvalId}</a> : '—'}
                </td>
                <td data-label="Review">
                  <Review mismatch={row} onReviewed={update} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
