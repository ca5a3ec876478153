import { type RecordedEvent } from '../event-store.port.js';

/** A row of ledger.events as node-postgres returns it: int8 arrives as a string, jsonb parsed, timestamptz a Date. */
export interface EventRow {
  global_position: string;
  event_id: string;
  stream_id: string;
  stream_revision: string;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  prev_hash: string;
  hash: string;
  recorded_at: Date;
}

export const EVENT_COLUMNS =
  'global_position, event_id, stream_id, stream_revision, type, data, metadata, prev_hash, hash, recorded_at';

export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    eventId: row.event_id,
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    streamId: row.stream_id,
    streamRevision: Number(row.stream_revision),
    globalPosition: BigInt(row.global_position),
    prevHash: row.prev_hash,
    hash: row.hash,
    recordedAt: row.recorded_at,
  };
}
