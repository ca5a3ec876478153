import type pg from 'pg';
import { type RecordedEvent } from '@audit-ledger/event-store';
import { sendLater } from '../statement-queue.js';

/**
 * Prefix of the per-stream advisory-lock key of the reconciliation projection and its triggers on `approvals` and
 * `executions`: `hashtextextended(prefix || stream_id, 0)`. The SQL functions `read_models.reconciliation_lock` and
 * `reconciliation_lock_shared` (migrations of reconciliation.projection.ts) use the same text. It names the schema
 * and always stands in SQL text (never a parameter): a rebuild rewrites `read_models.` to its shadow schema, so the
 * shadow's locks are its own and never wait for the live workers'.
 */
export const RECONCILIATION_LOCK_PREFIX = 'read_models.reconciliation_lock:';

/** Which reconciliation locks a projection's batch takes up front: the streams of its events of these types. */
export interface ReconciliationLocks {
  types: readonly string[];
  /** `shared` where only triggers of rows it writes take them; `exclusive` for the reconciliation projection. */
  mode: 'shared' | 'exclusive';
}

/** One projection's part of a batch: its events and the locks it declares. */
export interface LockedPart {
  events: readonly RecordedEvent[];
  locks: ReconciliationLocks;
}

/**
 * Takes, up front and in stream-id order, in ONE statement, the reconciliation lock of every stream that any part
 * asks for: the locks the batch's triggers (shared) or the reconciliation projection (exclusive) would otherwise take
 * one by one in event order. A stream asked for in both modes is locked exclusive (it would have been upgraded
 * within the transaction anyway). Batches that all lock this way cannot deadlock each other; later requests for a
 * lock already held return at once. Harmless where the reconciliation projection does not run (nobody else takes
 * them).
 */
export async function lockReconciliationStreams(client: pg.PoolClient, parts: readonly LockedPart[]): Promise<void> {
  const exclusive = new Map<string, boolean>();
  for (const { events, locks } of parts) {
    for (const event of events) {
      if (!locks.types.includes(event.type)) continue;
      exclusive.set(event.streamId, exclusive.get(event.streamId) === true || locks.mode === 'exclusive');
    }
  }
  if (exclusive.size === 0) return;
  const streams = [...exclusive.keys()].sort();
  // The ordered subquery (OFFSET 0 keeps it from being flattened) feeds the aggregate in the array's order; CASE
  // evaluates only the branch of each row's mode.
  await sendLater(
    client,
    `SELECT count(CASE WHEN exclusive THEN pg_advisory_xact_lock(key) ELSE pg_advisory_xact_lock_shared(key) END)
       FROM (SELECT hashtextextended('${RECONCILIATION_LOCK_PREFIX}' || stream, 0) AS key, exclusive
               FROM unnest($1::text[], $2::boolean[]) WITH ORDINALITY AS u(stream, exclusive, n)
              ORDER BY n OFFSET 0) ordered`,
    [streams, streams.map((stream) => exclusive.get(stream)!)],
  );
}
