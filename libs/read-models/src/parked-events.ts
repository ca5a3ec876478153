import { storableText } from '@audit-ledger/integrity';
import type pg from 'pg';
import type { RecordedEvent } from '@audit-ledger/event-store';
import { isTransientDatabaseError } from './database-errors.js';
import { ProjectionBatch, type Projection } from './projection.js';
import { PARKED_EVENTS_TABLE } from './read-model-migrations.js';

/** An event a projection could not apply, set aside so the projection carries on (`read_models.parked_events`). */
export interface ParkedEvent {
  /** Global position (decimal). */
  position: string;
  eventId: string;
  eventType: string;
  error: string;
  at: string;
}

/** What `onParked` is told when an event is parked: the park record with the projection and where the event lies. */
export interface ParkedEventNotice extends ParkedEvent {
  projection: string;
  streamId: string;
  streamRevision: number;
  /** When the event was recorded (ISO 8601); `at` is when it was parked. */
  recordedAt: string;
}

/** Told once per event a projection parked, after the park is committed (alerting, in the ledger). Must not throw. */
export type OnParked = (notice: ParkedEventNotice) => void;

export function parkedNotice(projection: string, event: RecordedEvent, parked: ParkedEvent): ParkedEventNotice {
  return {
    projection,
    ...parked,
    streamId: event.streamId,
    streamRevision: event.streamRevision,
    recordedAt: event.recordedAt.toISOString(),
  };
}

export type ParkingOutcome =
  { kind: 'applied' } | { kind: 'failed'; cause: unknown } | { kind: 'transient'; cause: unknown };

/**
 * Applies one event for one projection on a savepoint of the open transaction (its own batch: `lockBatch`, `apply`,
 * the deferred writes). A failure rolls back to the savepoint and is told apart: transient (retry) or not (park).
 */
export async function applyOneParking(
  projection: Projection,
  client: pg.PoolClient,
  event: RecordedEvent,
  apply: (batch: ProjectionBatch) => Promise<void>,
): Promise<ParkingOutcome> {
  await client.query('SAVEPOINT park_or_apply');
  try {
    const batch = new ProjectionBatch([event]);
    await projection.lockBatch?.(client, [event]);
    await apply(batch);
    await batch.finish(client);
    await client.query('RELEASE SAVEPOINT park_or_apply');
    return { kind: 'applied' };
  } catch (error) {
    // A dead connection fails this too: then it is thrown, and the caller reconnects.
    await client.query('ROLLBACK TO SAVEPOINT park_or_apply');
    return isTransientDatabaseError(error) ? { kind: 'transient', cause: error } : { kind: 'failed', cause: error };
  }
}

/** Records (or, parked before, updates) the park record of `event` for `projection`, in the open transaction. */
export async function parkEvent(
  client: pg.ClientBase,
  projection: string,
  event: RecordedEvent,
  error: string,
): Promise<ParkedEvent> {
  const { rows } = await client.query<{ parked_at: Date }>(
    `INSERT INTO ${PARKED_EVENTS_TABLE} (projection, position, event_id, event_type, error)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (projection, position) DO UPDATE
        SET error = EXCLUDED.error, attempts = ${PARKED_EVENTS_TABLE}.attempts + 1, last_attempt_at = now()
     RETURNING parked_at`,
    [projection, event.globalPosition.toString(), event.eventId, event.type, truncate(error)],
  );
  return {
    position: event.globalPosition.toString(),
    eventId: event.eventId,
    eventType: event.type,
    error: truncate(error),
    at: (rows[0]?.parked_at ?? new Date()).toISOString(),
  };
}

/** Parked events per projection, for the projections named. */
export async function countParked(
  db: pg.Pool | pg.ClientBase,
  projections: readonly string[],
): Promise<Map<string, number>> {
  const { rows } = await db.query<{ projection: string; n: number }>(
    `SELECT projection, count(*)::int AS n FROM ${PARKED_EVENTS_TABLE} WHERE projection = ANY($1::text[])
      GROUP BY projection`,
    [projections],
  );
  return new Map(rows.map((row) => [row.projection, row.n]));
}

/** An error message fit for a text column and a log line: bounded, and without what text cannot hold. */
export function storableErrorMessage(error: unknown): string {
  return truncate(error instanceof Error ? error.message : String(error));
}

function truncate(message: string): string {
  const text = storableText(message);
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}
