import type { ChainedEvent } from '@audit-ledger/integrity';

/** A row of ledger.events as `pg` returns it (bigint columns as strings). */
export interface EventRow {
  event_id: string;
  stream_id: string;
  stream_revision: string;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

export const EVENT_ROW_COLUMNS = 'event_id, stream_id, stream_revision, type, data, metadata, prev_hash, hash';

export const toChained = (row: EventRow): ChainedEvent => ({
  eventId: row.event_id,
  streamId: row.stream_id,
  streamRevision: Number(row.stream_revision),
  type: row.type,
  data: row.data,
  metadata: row.metadata,
  prevHash: row.prev_hash,
  hash: row.hash,
});
