import pg from 'pg';
import type { EventStore } from '@audit-ledger/event-store';
import { applyOneParking, storableErrorMessage } from './parked-events.js';
import { prepareEvent, type Projection } from './projection.js';
import { CHECKPOINTS_TABLE, PARKED_EVENTS_TABLE, runReadModelMigrations } from './read-model-migrations.js';
import { rebuildUnits } from './rebuild/rebuild-units.js';

export interface RetryParkedOptions {
  /** Where the parked events are read from (by global position). */
  store: EventStore;
  /** The database owner's connection string (as the runner's). */
  connectionString: string;
  /** Every projection the ledger runs (a unit's checkpoints are locked together). */
  projections: readonly Projection[];
  /** Projections whose parked events to retry; default all. Unknown names throw UnknownProjectionError. */
  names?: readonly string[];
}

export interface StillParked {
  position: string;
  eventId: string;
  eventType: string;
  error: string;
  attempts: number;
}

export interface RetriedProjection {
  projection: string;
  /** Parked events retried. */
  retried: number;
  /** Of those, applied now (and no longer parked). */
  applied: number;
  /** Those that still fail (their error and attempt count updated). */
  stillParked: StillParked[];
}

/**
 * `ledger projections retry-parked [name]`: applies each parked event again, in global order, and removes those that
 * now succeed; the others stay parked with their new error. Runs next to a running ledger: per unit of projections
 * that share tables, one transaction holds the unit's checkpoint rows (`FOR UPDATE`, as every runner batch takes
 * them), so a retry and the runner's batches never interleave. A transient database error aborts the retry
 * (nothing changed for that unit) and is thrown. An event applied late lands after the events that followed it: if
 * they depended on it, `ledger projections rebuild` gives the rows in order (docs/read-models.md).
 */
export async function retryParkedEvents(options: RetryParkedOptions): Promise<RetriedProjection[]> {
  const units = rebuildUnits(options.projections, options.names);
  const selected = new Set(options.names ?? options.projections.map((p) => p.name));
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: 1,
    application_name: 'audit-ledger-retry-parked',
  });
  pool.on('error', () => undefined);
  const client = await pool.connect();
  try {
    await runReadModelMigrations(client, options.projections);
    const results: RetriedProjection[] = [];
    for (const unit of units) {
      const members = unit.projections.filter((p) => selected.has(p.name));
      results.push(...(await retryUnit(client, options.store, unit.projections, members)));
    }
    return results;
  } finally {
    client.release();
    await pool.end();
  }
}

interface ParkedRow {
  projection: string;
  position: string;
  event_id: string;
  event_type: string;
}

async function retryUnit(
  client: pg.PoolClient,
  store: EventStore,
  unit: readonly Projection[],
  members: readonly Projection[],
): Promise<RetriedProjection[]> {
  const results = new Map(
    members.map((p) => [p.name, { projection: p.name, retried: 0, applied: 0, stillParked: [] } as RetriedProjection]),
  );
  await client.query('BEGIN');
  try {
    await client.query(`SELECT name FROM ${CHECKPOINTS_TABLE} WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE`, [
      unit.map((p) => p.name),
    ]);
    const { rows } = await client.query<ParkedRow>(
      `SELECT projection, position::text AS position, event_id::text AS event_id, event_type
         FROM ${PARKED_EVENTS_TABLE} WHERE projection = ANY($1::text[]) ORDER BY position, projection`,
      [members.map((p) => p.name)],
    );
    for (const row of rows) {
      const projection = members.find((p) => p.name === row.projection)!;
      const result = results.get(row.projection)!;
      result.retried += 1;
      const position = BigInt(row.position);
      const [event] = await store.readAll({ fromPosition: position - 1n, maxCount: 1 });
      const outcome =
        event && event.globalPosition === position
          ? await applyOneParking(projection, client, event, async (batch) => {
              const prepared = prepareEvent(projection, event);
              if (prepared.kind === 'apply') await projection.apply(client, prepared.event, batch);
            })
          : { kind: 'failed' as const, cause: new Error(`no event at position ${row.position} in the store`) };
      if (outcome.kind === 'transient') throw outcome.cause;
      if (outcome.kind === 'applied') {
        await client.query(`DELETE FROM ${PARKED_EVENTS_TABLE} WHERE projection = $1 AND position = $2`, [
          row.projection,
          row.position,
        ]);
        result.applied += 1;
        continue;
      }
      const error = storableErrorMessage(outcome.cause);
      const { rows: updated } = await client.query<{ attempts: number; error: string }>(
        `UPDATE ${PARKED_EVENTS_TABLE} SET error = $3, attempts = attempts + 1, last_attempt_at = now()
          WHERE projection = $1 AND position = $2 RETURNING attempts, error`,
        [row.projection, row.position, error],
      );
      result.stillParked.push({
        position: row.position,
        eventId: row.event_id,
        eventType: row.event_type,
        error: updated[0]?.error ?? error,
        attempts: updated[0]?.attempts ?? 0,
      });
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  return [...results.values()];
}
