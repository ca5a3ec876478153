import type pg from 'pg';
import { type RecordedEvent } from '@audit-ledger/event-store';

/**
 * Prefix of the per-stream advisory-lock key of the reconciliation projection and its triggers on `approvals` and
 * `executions`: `hashtextextended(prefix || stream_id, 0)`. The SQL functions `read_models.reconciliation_lock` and
 * `reconciliation_lock_shared` (migrations of reconciliation.projection.ts) use the same text. It names the schema
 * and always stands in SQL text (never a parameter): a rebuild rewrites `read_models.` to its shadow schema, so the
 * shadow's locks are its own and never wait for the live workers'.
 */
export const RECONCILIATION_LOCK_PREFIX = 'read_models.reconciliation_lock:';

/**
 * Takes, up front and in stream-id order, the reconciliation lock of every stream of `events` whose type is in
 * `types`: the locks the batch's triggers (shared) or the reconciliation projection (exclusive) would otherwise take
 * one by one in event order. Projections that all lock this way cannot deadlock each other; later requests for a lock
 * already held return at once. Harmless where the reconciliation projection does not run (nobody else takes them).
 */
export async function lockReconciliationStreams(
  client: pg.PoolClient,
  events: readonly RecordedEvent[],
  types: readonly string[],
  mode: 'shared' | 'exclusive',
): Promise<void> {
  const streams = [...new Set(events.filter((e) => types.includes(e.type)).map((e) => e.streamId))].sort();
  if (streams.length === 0) return;
  const lock = mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
  // The ordered subquery (OFFSET 0 keeps it from being flattened) feeds the aggregate in the array's order.
  await client.query(
    `SELECT count(${lock}(hashtextextended('${RECONCILIATION_LOCK_PREFIX}' || stream, 0)))
       FROM (SELECT stream FROM unnest($1::text[]) WITH ORDINALITY AS u(stream, n) ORDER BY n OFFSET 0) ordered`,
    [streams],
  );
}
