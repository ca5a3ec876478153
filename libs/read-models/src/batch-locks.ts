import type pg from 'pg';
import { type RecordedEvent } from '@audit-ledger/event-store';
import { type Projection } from './projection.js';
import { lockReconciliationStreams } from './projections/reconciliation-locks.js';

/** One projection's events of a batch. */
export interface ProjectionPart {
  projection: Projection;
  events: readonly RecordedEvent[];
}

/**
 * The up-front locks of one batch transaction, before any `apply`: the reconciliation locks every part declares, in
 * one statement, then each part's own `lockBatch`.
 */
export async function lockBatches(client: pg.PoolClient, parts: readonly ProjectionPart[]): Promise<void> {
  const withEvents = parts.filter((part) => part.events.length > 0);
  await lockReconciliationStreams(
    client,
    withEvents.flatMap(({ projection, events }) =>
      projection.reconciliationLocks ? [{ events, locks: projection.reconciliationLocks }] : [],
    ),
  );
  for (const { projection, events } of withEvents) await projection.lockBatch?.(client, events);
}
