import pg from 'pg';
import { type EventStore } from '@audit-ledger/event-store';
import { prepareEvent, ProjectionBatch, type Projection } from '../projection.js';
import { lockBatches } from '../batch-locks.js';
import { silentReadModelLogger, type ReadModelLogger } from '../read-model-logger.js';
import {
  advisoryLockKey,
  CHECKPOINTS_TABLE,
  PARKED_EVENTS_TABLE,
  READ_MODELS_SCHEMA,
  RUNNER_MIGRATIONS,
  runReadModelMigrations,
} from '../read-model-migrations.js';
import { isTransientDatabaseError } from '../database-errors.js';
import {
  applyOneParking,
  parkedNotice,
  parkEvent,
  storableErrorMessage,
  type OnParked,
  type ParkedEventNotice,
} from '../parked-events.js';
import { rebuildUnits, type RebuildUnit } from './rebuild-units.js';
import { inSchema, schemaClient } from './schema-rewrite.js';

/** Where a rebuild builds its rows before they replace the live ones; dropped afterwards. */
export const REBUILD_SCHEMA = 'read_models_rebuild';

export interface RebuildOptions {
  store: EventStore;
  /** The database owner's connection string, as for the runner. */
  connectionString: string;
  /** Every projection the ledger runs, in the runner's order: units are found among them. */
  projections: readonly Projection[];
  /** Projections to rebuild (each with those sharing its tables); default all. Unknown names throw. */
  names?: readonly string[];
  /** Events read and applied per transaction while building the shadow. Default 500. */
  batchSize?: number;
  logger?: ReadModelLogger;
  /** Told what the rebuild is doing, for a command line to print. */
  onProgress?: (progress: RebuildProgress) => void;
  applicationName?: string;
  /**
   * Told of each event the rebuild parked, once the swap made its park live (so also of events the live runner had
   * parked before: the same projection and position).
   */
  onParked?: OnParked;
  /** Called between the shadow's catch-up and the swap transaction (tests use it to append in between). */
  beforeSwap?: () => Promise<void>;
}

export type RebuildProgress =
  | { step: 'unit'; projections: string[]; tables: string[] }
  | { step: 'built'; projections: string[]; events: number; position: string }
  | { step: 'swapped'; projections: string[]; positions: Record<string, string>; rows: Record<string, number> };

export interface RebuiltUnit {
  projections: string[];
  tables: string[];
  /** Events applied to the rebuilt rows, over all of the unit's projections. */
  events: number;
  /** The checkpoint each projection continues from after the swap. */
  positions: Record<string, string>;
  /** Rows per table after the swap. */
  rows: Record<string, number>;
  /** Events the rebuild parked (now the live parked events of these projections), in global order. */
  parked: ParkedEventNotice[];
}

export class RebuildInProgressError extends Error {
  readonly code = 'READ_MODELS.REBUILD_IN_PROGRESS';
  constructor() {
    super('Another rebuild of the read models is running (it holds the rebuild lock); try again when it has finished');
  }
}

/** A projection threw while rebuilding: nothing was swapped, the live rows are untouched. */
export class RebuildFailedError extends Error {
  readonly code = 'READ_MODELS.REBUILD_FAILED';
  constructor(
    readonly projection: string,
    readonly position: bigint,
    readonly eventId: string,
    readonly eventType: string,
    cause: unknown,
  ) {
    super(
      `Projection ${projection} failed on ${eventType} ${eventId} at position ${position}: ` +
        `${cause instanceof Error ? cause.message : String(cause)}; nothing was swapped`,
      { cause },
    );
  }
}

const MAX_PASSES_BEFORE_SWAP = 10;
/** A pass that read at most this many events per projection leaves little for the swap transaction. */
const FEW_EVENTS_LEFT = 50;
const TRANSIENT_SQLSTATES = new Set(['40P01', '40001', '55P03']);
const isTransient = (error: unknown): boolean =>
  TRANSIENT_SQLSTATES.has(String((error as { code?: unknown } | null)?.code));

/**
 * Rebuilds read models from position 0 and swaps them in (docs/read-models.md, "How to rebuild"). Per unit (the
 * named projections and every projection sharing a table with them):
 *
 * 1. creates schema `read_models_rebuild` with the runner's and the unit's migrations, and applies every event from
 *    position 0 to it with the projections' own `apply` (their `read_models.` prefix rewritten), in batches, while
 *    the live tables keep serving and the running ledger keeps projecting into them;
 * 2. in one transaction: locks the unit's live checkpoint rows (a running worker's next batch waits on them: its
 *    fence), applies what was appended meanwhile to the shadow, replaces the rows of every table of the unit with
 *    the shadow's (DELETE + INSERT: readers see the old rows until the commit, then the new ones), and sets the
 *    checkpoints to where the shadow got; commit;
 * 3. drops the shadow. A running worker finds its checkpoint moved and continues from it: no event is applied twice
 *    or skipped.
 */
export async function rebuildProjections(options: RebuildOptions): Promise<RebuiltUnit[]> {
  const units = rebuildUnits(options.projections, options.names);
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    // the rebuild's own session (lock, migrations, swap) plus one per projection building the shadow in parallel
    max: 1 + Math.max(...units.map((unit) => unit.projections.length), 1),
    application_name: options.applicationName ?? 'audit-ledger-rebuild',
  });
  const logger = options.logger ?? silentReadModelLogger;
  pool.on('error', (error) => logger.warn({ err: error }, 'idle rebuild connection failed'));
  let client: pg.PoolClient | undefined;
  let locked = false;
  try {
    client = await pool.connect();
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [
      advisoryLockKey('rebuild'),
    ]);
    locked = rows[0]?.locked === true;
    if (!locked) throw new RebuildInProgressError();
    await runReadModelMigrations(client, options.projections);
    const results: RebuiltUnit[] = [];
    for (const unit of units) results.push(await new UnitRebuild(pool, client, unit, options, logger).run());
    return results;
  } finally {
    // Only the holder of the rebuild lock may drop the shadow: another rebuild may be building it.
    if (locked) await client?.query(`DROP SCHEMA IF EXISTS ${REBUILD_SCHEMA} CASCADE`).catch(() => undefined);
    client?.release(true); // closing the session releases the rebuild lock
    await pool.end();
  }
}

class UnitRebuild {
  private readonly names: string[];
  private readonly positions = new Map<string, bigint>();
  private events = 0;
  private readonly batchSize: number;
  /** What the shadow parked, by projection and position (a batch applied again parks the same event again). */
  private readonly parked = new Map<string, ParkedEventNotice>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly client: pg.PoolClient,
    private readonly unit: RebuildUnit,
    private readonly options: RebuildOptions,
    private readonly logger: ReadModelLogger,
  ) {
    this.names = unit.projections.map((p) => p.name);
    this.batchSize = options.batchSize ?? 500;
    for (const name of this.names) this.positions.set(name, 0n);
  }

  async run(): Promise<RebuiltUnit> {
    const { projections, tables } = this.unit;
    this.options.onProgress?.({ step: 'unit', projections: this.names, tables });
    this.logger.info({ projections: this.names, tables }, 'rebuilding read models');
    await this.createShadow();
    // Catch up outside the swap until a pass finds only a few events per projection, so the swap transaction (which
    // pauses the live workers of these projections) applies only the last few. A short read does not mean the end
    // (the store holds back events above one still committing), hence passes until one is nearly empty. Under an
    // append rate the projections cannot follow, stop after a few passes: the swap then catches up to the live
    // workers' checkpoints only.
    for (let pass = 1; pass <= MAX_PASSES_BEFORE_SWAP; pass++) {
      const applied = await this.catchUpInParallel();
      if (applied <= FEW_EVENTS_LEFT * this.names.length) break;
    }
    this.options.onProgress?.({
      step: 'built',
      projections: this.names,
      events: this.events,
      position: this.maxPosition().toString(),
    });
    await this.options.beforeSwap?.();
    const rows = await this.swap();
    const positions = Object.fromEntries([...this.positions].map(([name, p]) => [name, p.toString()]));
    this.options.onProgress?.({ step: 'swapped', projections: this.names, positions, rows });
    this.logger.info({ projections: projections.map((p) => p.name), positions, rows }, 'read models rebuilt');
    await this.client.query(`DROP SCHEMA IF EXISTS ${REBUILD_SCHEMA} CASCADE`);
    const parked = [...this.parked.values()].sort((a, b) => compareDecimal(a.position, b.position));
    for (const notice of parked) {
      try {
        this.options.onParked?.(notice);
      } catch (error) {
        this.logger.error({ err: error, projection: notice.projection }, 'onParked failed');
      }
    }
    return { projections: this.names, tables, events: this.events, positions, rows, parked };
  }

  private async createShadow(): Promise<void> {
    await this.client.query(`DROP SCHEMA IF EXISTS ${REBUILD_SCHEMA} CASCADE`);
    await this.client.query('BEGIN');
    try {
      await this.client.query(`CREATE SCHEMA ${REBUILD_SCHEMA}`);
      for (const migration of RUNNER_MIGRATIONS) await this.client.query(inSchema(migration.sql, REBUILD_SCHEMA));
      for (const projection of this.unit.projections) {
        for (const migration of projection.migrations) {
          await this.client.query(inSchema(migration.sql, REBUILD_SCHEMA));
        }
      }
      await this.client.query('COMMIT');
    } catch (error) {
      await this.client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  /**
   * One pass outside the swap: each projection of the unit, on a connection of its own and in parallel (as the
   * runner's workers do), reads on from its position until the store has nothing more for it, a transaction per
   * batch. Returns the number of events read.
   */
  private async catchUpInParallel(): Promise<number> {
    const results = await Promise.allSettled(
      this.unit.projections.map(async (projection) => {
        const connection = await this.pool.connect();
        try {
          return await this.catchUpOne(projection, connection, false);
        } finally {
          connection.release();
        }
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return results.reduce((sum, r) => sum + (r.status === 'fulfilled' ? r.value : 0), 0);
  }

  /**
   * Inside the swap transaction, on its connection: one projection after the other, each until it is at least at
   * `live` (what its live worker had applied); no further, as the live workers wait meanwhile.
   */
  private async catchUpInSwap(live: Map<string, bigint>): Promise<number> {
    let total = 0;
    for (const projection of this.unit.projections) {
      total += await this.catchUpOne(projection, this.client, true, live.get(projection.name) ?? 0n);
    }
    return total;
  }

  private async catchUpOne(
    projection: Projection,
    connection: pg.PoolClient,
    inSwap: boolean,
    until?: bigint,
  ): Promise<number> {
    const shadow = schemaClient(connection, REBUILD_SCHEMA);
    let total = 0;
    for (;;) {
      const from = this.positions.get(projection.name)!;
      if (until !== undefined && from >= until) break;
      const batch = await this.options.store.readAll({
        fromPosition: from,
        maxCount: this.batchSize,
        ...(projection.filter ? { filter: projection.filter } : {}),
      });
      if (batch.length < this.batchSize && until !== undefined && inSwap) {
        // Everything up to the live checkpoint is committed (the live worker read it): the store has no more
        // events for this projection's filter below it. The live checkpoint may lie past the projection's last
        // event (a worker moves it over events of other streams): the shadow is there too once this batch is in.
        const end = batch.length > 0 ? batch[batch.length - 1]!.globalPosition : from;
        if (end < until) {
          if (batch.length > 0) await this.applyBatch(projection, shadow, batch);
          this.positions.set(projection.name, until);
          this.events += batch.length;
          total += batch.length;
          break;
        }
      }
      if (batch.length === 0) break;
      if (inSwap) await this.applyBatch(projection, shadow, batch);
      else await inTransaction(connection, () => this.applyBatch(projection, shadow, batch));
      this.positions.set(projection.name, batch[batch.length - 1]!.globalPosition);
      this.events += batch.length;
      total += batch.length;
      if (batch.length < this.batchSize) break;
    }
    return total;
  }

  /**
   * Applies a batch to the shadow; an event the projection deterministically cannot apply is parked in the shadow's
   * `parked_events` (as the live runner parks it) and the rebuild goes on: the batch is rolled back to its start,
   * the events before it applied again, the event parked, then the events after it. The swap makes the shadow's
   * parked events the live ones.
   */
  private async applyBatch(
    projection: Projection,
    shadow: pg.PoolClient,
    batch: Awaited<ReturnType<EventStore['readAll']>>,
  ): Promise<void> {
    if (batch.length === 0) return;
    await shadow.query('SAVEPOINT rebuild_batch');
    try {
      await this.applyEvents(projection, shadow, batch);
      await shadow.query('RELEASE SAVEPOINT rebuild_batch');
      return;
    } catch (error) {
      if (!(error instanceof RebuildFailedError) || isTransientDatabaseError(error.cause)) throw error;
      await shadow.query('ROLLBACK TO SAVEPOINT rebuild_batch');
      await shadow.query('RELEASE SAVEPOINT rebuild_batch');
      const at = batch.findIndex((event) => event.globalPosition === error.position);
      if (at < 0) throw error;
      await this.applyBatch(projection, shadow, batch.slice(0, at));
      const event = batch[at]!;
      const outcome = await applyOneParking(projection, shadow, event, async (scope) => {
        const prepared = prepareEvent(projection, event);
        if (prepared.kind === 'apply') await projection.apply(shadow, prepared.event, scope);
      });
      if (outcome.kind === 'transient') throw outcome.cause;
      if (outcome.kind === 'failed') {
        const record = await parkEvent(shadow, projection.name, event, storableErrorMessage(outcome.cause));
        this.parked.set(`${projection.name}@${record.position}`, parkedNotice(projection.name, event, record));
      }
      await this.applyBatch(projection, shadow, batch.slice(at + 1));
    }
  }

  private async applyEvents(
    projection: Projection,
    shadow: pg.PoolClient,
    batch: Awaited<ReturnType<EventStore['readAll']>>,
  ): Promise<void> {
    await lockBatches(shadow, [{ projection, events: batch }]); // as the live runner does: the shadow's batches cannot deadlock
    const scope = new ProjectionBatch(batch);
    for (const event of batch) {
      const prepared = prepareEvent(projection, event);
      if (prepared.kind === 'skip') continue;
      try {
        await projection.apply(shadow, prepared.event, scope);
      } catch (error) {
        if (isTransient(error)) throw error;
        throw new RebuildFailedError(projection.name, event.globalPosition, event.eventId, event.type, error);
      }
    }
    const last = batch[batch.length - 1]!;
    try {
      await scope.finish(shadow); // the batch's deferred writes, as the live runner makes them
    } catch (error) {
      if (isTransient(error)) throw error;
      throw new RebuildFailedError(projection.name, last.globalPosition, last.eventId, last.type, error);
    }
  }

  /** The one transaction that makes the rebuilt rows live. Returns rows per table. */
  private async swap(): Promise<Record<string, number>> {
    const c = this.client;
    const committed = { positions: new Map(this.positions), events: this.events };
    for (let attempt = 1; ; attempt++) {
      await c.query('BEGIN');
      try {
        for (const projection of this.unit.projections) {
          await c.query(`INSERT INTO ${CHECKPOINTS_TABLE} (name, version) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
            projection.name,
            projection.version,
          ]);
        }
        // A live worker locks its checkpoint row first in every batch: from here on, none of the unit's applies.
        const { rows: live } = await c.query<{ name: string; position: string }>(
          `SELECT name, position FROM ${CHECKPOINTS_TABLE} WHERE name = ANY($1) ORDER BY name FOR UPDATE`,
          [this.names],
        );
        await this.catchUpTo(new Map(live.map((row) => [row.name, BigInt(row.position)])));
        const rows: Record<string, number> = {};
        for (const table of this.unit.tables) rows[table] = await this.replaceRows(table);
        // What the rebuild parked replaces what the live workers had parked for these projections.
        await c.query(`DELETE FROM ${PARKED_EVENTS_TABLE} WHERE projection = ANY($1::text[])`, [this.names]);
        await c.query(
          `INSERT INTO ${PARKED_EVENTS_TABLE} SELECT * FROM ${REBUILD_SCHEMA}.parked_events WHERE projection = ANY($1::text[])`,
          [this.names],
        );
        for (const projection of this.unit.projections) {
          await c.query(
            `UPDATE ${CHECKPOINTS_TABLE}
                SET position = $2, version = $3, updated_at = now(), error = NULL, error_position = NULL,
                    error_event_id = NULL, error_event_type = NULL, error_at = NULL, failures = 0
              WHERE name = $1`,
            [projection.name, this.positions.get(projection.name)!.toString(), projection.version],
          );
        }
        await c.query('COMMIT');
        return rows;
      } catch (error) {
        await c.query('ROLLBACK').catch(() => undefined);
        if (!isTransient(error) || attempt >= 20) throw error;
        // The shadow's in-swap batches were rolled back with it: go on from its committed state.
        for (const [name, position] of committed.positions) this.positions.set(name, position);
        this.events = committed.events;
      }
    }
  }

  /** Inside the swap: applies events until each projection's shadow is at least where its live worker was. */
  private async catchUpTo(live: Map<string, bigint>): Promise<void> {
    for (let idle = 0; ;) {
      await this.catchUpInSwap(live);
      const behind = this.names.filter((name) => this.positions.get(name)! < (live.get(name) ?? 0n));
      if (behind.length === 0) return;
      // The store holds back events above one still committing; what the live worker applied is committed.
      if (++idle > 250) {
        throw new Error(`the rebuild could not read up to the live checkpoints of ${behind.join(', ')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /**
   * Replaces every row of the live table with the shadow's, inside the swap transaction. Triggers are off for the
   * copy: the rows are copied as the rebuild computed them (the reconciliation triggers would re-derive the same).
   */
  private async replaceRows(table: string): Promise<number> {
    const c = this.client;
    const columnsOf = async (schema: string): Promise<string[]> =>
      (
        await c.query<{ column_name: string }>(
          `SELECT column_name FROM information_schema.columns
            WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
          [schema, table],
        )
      ).rows.map((r) => r.column_name);
    const liveColumns = await columnsOf(READ_MODELS_SCHEMA);
    const shadowColumns = await columnsOf(REBUILD_SCHEMA);
    const same =
      liveColumns.length === shadowColumns.length && liveColumns.every((column) => shadowColumns.includes(column));
    if (!same) {
      throw new Error(
        `Table ${READ_MODELS_SCHEMA}.${table} has columns (${liveColumns.join(', ')}) but the projections' ` +
          `migrations give (${shadowColumns.join(', ')}); the live schema was changed by hand`,
      );
    }
    const columns = liveColumns.map((column) => `"${column}"`).join(', ');
    const live = `${READ_MODELS_SCHEMA}.${table}`;
    await c.query(`ALTER TABLE ${live} DISABLE TRIGGER USER`);
    await c.query(`DELETE FROM ${live}`);
    const { rowCount } = await c.query(
      `INSERT INTO ${live} (${columns}) SELECT ${columns} FROM ${REBUILD_SCHEMA}.${table}`,
    );
    await c.query(`ALTER TABLE ${live} ENABLE TRIGGER USER`);
    return rowCount ?? 0;
  }

  private maxPosition(): bigint {
    return [...this.positions.values()].reduce((a, b) => (a > b ? a : b), 0n);
  }
}

/**
 * A shadow batch in a transaction of its own, applied again when the database aborts it for a transient cause (the
 * reconciliation triggers take per-stream locks that the live workers take too: a deadlock aborts one side).
 */
async function inTransaction(connection: pg.PoolClient, work: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await connection.query('BEGIN');
    try {
      await work();
      await connection.query('COMMIT');
      return;
    } catch (error) {
      await connection.query('ROLLBACK').catch(() => undefined);
      if (!isTransient(error) || attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10 + Math.floor(Math.random() * 50)));
    }
  }
}

const compareDecimal = (a: string, b: string): number => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0);
