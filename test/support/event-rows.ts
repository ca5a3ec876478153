import type { ChainedEvent } from '@audit-ledger/integrity';
import type pg from 'pg';

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

/**
 * Inserts `row` at global position `position`, around the identity sequence (`OVERRIDING SYSTEM VALUE`), as a
 * superuser or a forger would.
 */
export async function insertEventRowAt(db: pg.Pool | pg.PoolClient, position: number | string, row: EventRow) {
  await db.query(
    `INSERT INTO ledger.events (global_position, ${EVENT_ROW_COLUMNS}) OVERRIDING SYSTEM VALUE
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      position,
      row.event_id,
      row.stream_id,
      row.stream_revision,
      row.type,
      row.data,
      row.metadata,
      row.prev_hash,
      row.hash,
    ],
  );
}
