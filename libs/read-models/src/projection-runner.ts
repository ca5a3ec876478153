import pg from 'pg';
import { type EventStore, type RecordedEvent } from '@audit-ledger/event-store';
import { prepareEvent, type Projection } from './projection.js';
import { advisoryLockKey, CHECKPOINTS_TABLE, runReadModelMigrations } from './read-model-migrations.js';

/** The little the runner logs through; a pino logger fits as it is. */
export interface ReadModelLogger {
  info(context: Record<string, unknown>, message: string): void;
  warn(context: Record<string, unknown>, message: string): void;
  error(context: Record<string, unknown>, message: string): void;
}

export const silentReadModelLogger: ReadModelLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

export interface ProjectionRunnerOptions {
  /** Where events come from (the port: any adapter). */
  store: EventStore;
  /** The database owner's connection string: the runner creates and writes schema `read_models` with it. */
  connectionString: string;
  projections: readonly Projection[];
  logger?: ReadModelLogger;
  /** Most events applied in one transaction. Default 500. */
  batchSize?: number;
  /** How often a process without a projection's lock tries to take it. Default 2000 ms. */
  lockRetryMs?: number;
  /** Wait after a lost connection before reconnecting. Default 1000 ms. */
  reconnectMs?: number;
  /** Wait before retrying an event a projection threw on (it is retried, never skipped). Default 30 s. */
  failureRetryMs?: number;
  /** `application_name` of the runner's connections (visible in pg_stat_activity). */
  applicationName?: string;
}

export type ProjectionState =
  /** Not started yet, or connecting. */
  | 'starting'
  /** Another process holds this projection's lock; this one waits to take over. */
  | 'standby'
  /** Holds the lock and is applying a backlog. */
  | 'catching_up'
  /** Holds the lock and has applied everything the store had delivered. */
  | 'live'
  /** Stopped at an event the projection threw on; retried every `failureRetryMs`. */
  | 'failed'
  /** Lost its database connection; reconnecting. */
  | 'reconnecting'
  | 'stopped';

export interface ProjectionFailure {
  /** Global position of the event the projection threw on (decimal). The checkpoint is just below it. */
  position: string;
  eventId: string;
  eventType: string;
  message: string;
  at: string;
  /** Consecutive failed attempts on this event in this process. */
  attempts: number;
}

export interface ProjectionStatus {
  name: string;
  version: number;
  state: ProjectionState;
  /** True while this process holds the projection's advisory lock (is the one applying). */
  active: boolean;
  /** Checkpoint: the last global position applied and committed (decimal string). Stale while `standby`. */
  position: string;
  /** Checkpoint's version differs from the projection's: a rebuild is needed (not automatic yet). */
  versionMismatch: boolean;
  /** Events applied by this process. */
  applied: number;
  /** Events not applied: `unhandled` (type not in `handles`), `newer` (schemaVersion newer than understood). */
  skipped: { unhandled: number; newer: number; byType: Record<string, number> };
  failure?: ProjectionFailure;
  /** The last connection or lock error, if the worker is reconnecting. */
  lastError?: string;
}

export interface ProjectionRunnerStatus {
  /** False when any projection is failed or reconnecting. Standby is healthy: another process is applying. */
  healthy: boolean;
  projections: ProjectionStatus[];
}

/** The checkpoint row moved under us: another runner applied this projection. Ours stops and re-reads. */
export class CheckpointFenceError extends Error {
  readonly code = 'READ_MODELS.CHECKPOINT_MOVED';
  constructor(name: string, expected: bigint, found: bigint | undefined) {
    super(`Checkpoint of projection ${name} moved: expected position ${expected}, found ${found ?? 'no row'}`);
  }
}

/**
 * Runs projections: per projection, one worker takes a session-level advisory lock on a connection of its own, reads
 * the checkpoint, subscribes to the store after it, and commits each batch of rows together with the new checkpoint.
 * Create with `ProjectionRunner.start`, stop with `stop()`; `status()` is for `/health`.
 */
export class ProjectionRunner {
  private readonly workers: ProjectionWorker[];
  private readonly abort = new AbortController();
  private readonly running: Promise<void>[];
  private stopping?: Promise<void>;

  private constructor(
    private readonly pool: pg.Pool,
    options: ProjectionRunnerOptions,
  ) {
    const logger = options.logger ?? silentReadModelLogger;
    const settings: WorkerSettings = {
      pool,
      store: options.store,
      logger,
      signal: this.abort.signal,
      batchSize: options.batchSize ?? 500,
      lockRetryMs: options.lockRetryMs ?? 2000,
      reconnectMs: options.reconnectMs ?? 1000,
      failureRetryMs: options.failureRetryMs ?? 30_000,
    };
    this.workers = options.projections.map((projection) => new ProjectionWorker(projection, settings));
    this.running = this.workers.map((worker) => worker.run());
  }

  /** Applies the read-model migrations, then starts one worker per projection. */
  static async start(options: ProjectionRunnerOptions): Promise<ProjectionRunner> {
    const names = new Set(options.projections.map((p) => p.name));
    if (names.size !== options.projections.length) throw new Error('Projection names must be unique');
    const pool = new pg.Pool({
      connectionString: options.connectionString,
      // one held connection per active projection, plus lock attempts and migrations
      max: options.projections.length + 2,
      application_name: options.applicationName ?? 'audit-ledger-read-models',
    });
    const logger = options.logger ?? silentReadModelLogger;
    pool.on('error', (error) => logger.warn({ err: error }, 'idle read-model connection failed'));
    try {
      const client = await pool.connect();
      try {
        const report = await runReadModelMigrations(client, options.projections);
        if (report.applied.length > 0) logger.info({ applied: report.applied }, 'read-model migrations applied');
      } finally {
        client.release();
      }
    } catch (error) {
      await pool.end();
      throw error;
    }
    return new ProjectionRunner(pool, options);
  }

  status(): ProjectionRunnerStatus {
    const projections = this.workers.map((worker) => worker.status());
    return {
      healthy: projections.every((p) => p.state !== 'failed' && p.state !== 'reconnecting'),
      projections,
    };
  }

  /** Finishes the batch in flight, closes the subscriptions and the connections (which releases the locks). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.abort.abort();
      await Promise.all(this.running);
      await this.pool.end();
    })();
    return this.stopping;
  }
}

interface WorkerSettings {
  pool: pg.Pool;
  store: EventStore;
  logger: ReadModelLogger;
  signal: AbortSignal;
  batchSize: number;
  lockRetryMs: number;
  reconnectMs: number;
  failureRetryMs: number;
}

interface CheckpointRow {
  position: string;
  version: number;
  error: string | null;
  error_position: string | null;
  error_event_id: string | null;
  error_event_type: string | null;
  error_at: Date | null;
  failures: number;
}

/** A projection error: the event it threw on, and why. */
/** Deadlock, serialization failure, lock not available: the same batch may succeed when applied again. */
const TRANSIENT_SQLSTATES = new Set(['40P01', '40001', '55P03']);
const TRANSIENT_RETRY_MS = 50;

function isTransientDatabaseError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && TRANSIENT_SQLSTATES.has(code);
}

class EventFailure {
  constructor(
    readonly event: RecordedEvent,
    readonly cause: unknown,
  ) {}
}

interface BatchCounters {
  applied: number;
  unhandled: number;
  newer: number;
  byType: Record<string, number>;
}

const emptyCounters = (): BatchCounters => ({ applied: 0, unhandled: 0, newer: 0, byType: {} });

class ProjectionWorker {
  private state: ProjectionState = 'starting';
  private active = false;
  private position = 0n;
  private versionMismatch = false;
  private readonly totals = emptyCounters();
  private failure?: ProjectionFailure;
  private lastError?: string;
  private readonly lockKey: string;
  private readonly watched = new WeakSet<pg.PoolClient>();
  /** The connection holding the lock, and what to do when it dies while the worker waits for events. */
  private held?: pg.PoolClient;
  private lost?: Error;
  private dropSubscription?: () => void;

  constructor(
    private readonly projection: Projection,
    private readonly settings: WorkerSettings,
  ) {
    this.lockKey = advisoryLockKey(projection.name);
  }

  status(): ProjectionStatus {
    return {
      name: this.projection.name,
      version: this.projection.version,
      state: this.state,
      active: this.active,
      position: this.position.toString(),
      versionMismatch: this.versionMismatch,
      applied: this.totals.applied,
      skipped: { unhandled: this.totals.unhandled, newer: this.totals.newer, byType: { ...this.totals.byType } },
      ...(this.failure ? { failure: { ...this.failure } } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  async run(): Promise<void> {
    const { signal, logger } = this.settings;
    while (!signal.aborted) {
      let client: pg.PoolClient | undefined;
      try {
        client = await this.acquire();
        if (!client) break;
        this.held = client;
        this.lost = undefined;
        await this.follow(client);
      } catch (error) {
        if (signal.aborted) break;
        this.state = 'reconnecting';
        this.lastError = messageOf(error);
        logger.warn({ err: error, projection: this.projection.name }, 'projection lost its connection or lock');
        await pause(
          error instanceof CheckpointFenceError ? this.settings.lockRetryMs : this.settings.reconnectMs,
          signal,
        );
      } finally {
        this.active = false;
        this.held = undefined;
        // Closing the connection releases the session-level advisory lock (and rolls back anything left open).
        if (client) client.release(true);
      }
    }
    this.state = 'stopped';
  }

  /** Takes the projection's lock on a connection of its own, retrying until it gets it or is stopped. */
  private async acquire(): Promise<pg.PoolClient | undefined> {
    const { pool, signal } = this.settings;
    while (!signal.aborted) {
      const client = await pool.connect();
      this.watch(client);
      let locked: boolean;
      try {
        const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [
          this.lockKey,
        ]);
        locked = rows[0]?.locked === true;
        if (!locked) await this.readCheckpoint(client); // a standby still reports where the active process is
      } catch (error) {
        client.release(true);
        throw error;
      }
      if (locked) return client;
      client.release();
      this.state = 'standby';
      await pause(this.settings.lockRetryMs, signal);
    }
    return undefined;
  }

  /** With the lock held: read the checkpoint, subscribe after it, apply; on a projection error wait and retry. */
  private async follow(client: pg.PoolClient): Promise<void> {
    const { signal } = this.settings;
    this.active = true;
    this.lastError = undefined;
    await client.query(`INSERT INTO ${CHECKPOINTS_TABLE} (name, version) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
      this.projection.name,
      this.projection.version,
    ]);
    while (!signal.aborted) {
      await this.readCheckpoint(client);
      this.state = this.failure ? 'failed' : 'catching_up';
      const failed = await this.consume(client);
      if (this.lost) throw this.lost;
      if (!failed) return;
      if (failed === 'transient') {
        // Two projections' batches can lock the same rows in opposite orders; PostgreSQL aborts one. Not the
        // projection's fault: apply the batch again shortly instead of waiting failureRetryMs as for a real failure.
        await pause(TRANSIENT_RETRY_MS + Math.floor(Math.random() * TRANSIENT_RETRY_MS), signal);
        continue;
      }
      this.state = 'failed';
      await pause(this.settings.failureRetryMs, signal);
    }
  }

  private async readCheckpoint(client: pg.PoolClient): Promise<void> {
    const { rows } = await client.query<CheckpointRow>(
      `SELECT position, version, error, error_position, error_event_id, error_event_type, error_at, failures
         FROM ${CHECKPOINTS_TABLE} WHERE name = $1`,
      [this.projection.name],
    );
    const row = rows[0];
    if (!row) return;
    this.position = BigInt(row.position);
    this.versionMismatch = row.version !== this.projection.version;
    if (row.error !== null && row.error_position !== null) {
      this.failure = {
        position: row.error_position,
        eventId: row.error_event_id ?? '',
        eventType: row.error_event_type ?? '',
        message: row.error,
        at: (row.error_at ?? new Date(0)).toISOString(),
        attempts: this.failure?.attempts ?? row.failures,
      };
    } else {
      this.failure = undefined;
    }
  }

  /**
   * Applies batches until stopped (returns false), the database aborts a batch for a transient reason such as a
   * deadlock (returns 'transient'), or the projection throws (records it, returns 'failed').
   */
  private async consume(client: pg.PoolClient): Promise<false | 'failed' | 'transient'> {
    const { signal, store, batchSize } = this.settings;
    const subscription = store.subscribeToAll({ fromPosition: this.position, filter: this.projection.filter });
    const iterator = subscription[Symbol.asyncIterator]();
    const onAbort = (): void => void subscription.close();
    signal.addEventListener('abort', onAbort, { once: true });
    this.dropSubscription = onAbort;
    let pending: Promise<IteratorResult<RecordedEvent>> | undefined;
    try {
      while (!signal.aborted) {
        pending ??= iterator.next();
        const first = await pending;
        pending = undefined;
        if (first.done) return false;
        const batch = [first.value];
        let drained = false;
        // Take what the subscription already holds, without waiting for another read: a batch ends when the
        // subscription would have to go to the database again, so a live event is committed at once.
        while (batch.length < batchSize) {
          pending = iterator.next();
          const next = await settledNow(pending);
          if (next === undefined) {
            drained = true;
            break;
          }
          pending = undefined;
          if (next.done) break;
          batch.push(next.value);
        }
        const failure = await this.commitBatch(client, batch);
        if (failure) {
          if (isTransientDatabaseError(failure.cause)) return 'transient';
          await this.recordFailure(client, failure);
          return 'failed';
        }
        if (drained && !this.failure) this.state = 'live';
      }
      return false;
    } finally {
      this.dropSubscription = undefined;
      signal.removeEventListener('abort', onAbort);
      await subscription.close();
    }
  }

  /**
   * One transaction: check that the checkpoint is still where this worker left it (a fence against a second runner
   * whose lock was lost), apply the events, move the checkpoint. If the projection throws on an event, the whole
   * transaction is rolled back and the events before it are committed again in a new one, so the checkpoint stops
   * just below the failing event. Connection errors are thrown.
   */
  private async commitBatch(client: pg.PoolClient, batch: RecordedEvent[]): Promise<EventFailure | undefined> {
    const counters = emptyCounters();
    let failure: EventFailure | undefined;
    await client.query('BEGIN');
    try {
      await this.fence(client);
      for (const event of batch) {
        try {
          await this.applyOne(client, event, counters);
        } catch (error) {
          failure = new EventFailure(event, error);
          throw error;
        }
      }
      await this.saveCheckpoint(client, batch[batch.length - 1]!.globalPosition);
      await client.query('COMMIT');
    } catch (error) {
      // A dead connection fails the rollback too: then it is not the projection's fault, rethrow.
      await client.query('ROLLBACK').catch(() => {
        throw error;
      });
      if (!failure) throw error;
      const before = batch.slice(0, batch.indexOf(failure.event));
      if (before.length > 0) {
        const again = await this.commitBatch(client, before);
        if (again) return again; // not deterministic: report the earlier event
      }
      return failure;
    }
    this.position = batch[batch.length - 1]!.globalPosition;
    this.merge(counters);
    if (this.failure) {
      this.settings.logger.info({ projection: this.projection.name }, 'projection recovered');
      this.failure = undefined;
    }
    return undefined;
  }

  private async applyOne(client: pg.PoolClient, event: RecordedEvent, counters: BatchCounters): Promise<void> {
    const prepared = prepareEvent(this.projection, event);
    if (prepared.kind === 'skip') {
      counters[prepared.reason] += 1;
      counters.byType[event.type] = (counters.byType[event.type] ?? 0) + 1;
      return;
    }
    await this.projection.apply(client, prepared.event);
    counters.applied += 1;
  }

  private async fence(client: pg.PoolClient): Promise<void> {
    const { rows } = await client.query<{ position: string }>(
      `SELECT position FROM ${CHECKPOINTS_TABLE} WHERE name = $1 FOR UPDATE`,
      [this.projection.name],
    );
    const found = rows[0] ? BigInt(rows[0].position) : undefined;
    if (found !== this.position) throw new CheckpointFenceError(this.projection.name, this.position, found);
  }

  private async saveCheckpoint(client: pg.PoolClient, position: bigint): Promise<void> {
    await client.query(
      `UPDATE ${CHECKPOINTS_TABLE}
          SET position = $2, updated_at = now(), error = NULL, error_position = NULL, error_event_id = NULL,
              error_event_type = NULL, error_at = NULL, failures = 0
        WHERE name = $1`,
      [this.projection.name, position.toString()],
    );
  }

  private async recordFailure(client: pg.PoolClient, failure: EventFailure): Promise<void> {
    const message = messageOf(failure.cause);
    const { rows } = await client.query<{ failures: number; error_at: Date }>(
      `UPDATE ${CHECKPOINTS_TABLE}
          SET error = $2, error_position = $3, error_event_id = $4, error_event_type = $5, error_at = now(),
              failures = failures + 1
        WHERE name = $1
        RETURNING failures, error_at`,
      [
        this.projection.name,
        message,
        failure.event.globalPosition.toString(),
        failure.event.eventId,
        failure.event.type,
      ],
    );
    const attempts = this.failure?.position === failure.event.globalPosition.toString() ? this.failure.attempts + 1 : 1;
    this.failure = {
      position: failure.event.globalPosition.toString(),
      eventId: failure.event.eventId,
      eventType: failure.event.type,
      message,
      at: (rows[0]?.error_at ?? new Date()).toISOString(),
      attempts,
    };
    this.settings.logger.error(
      {
        err: failure.cause,
        projection: this.projection.name,
        position: this.failure.position,
        eventId: failure.event.eventId,
        eventType: failure.event.type,
        attempts,
      },
      `projection ${this.projection.name} failed on event at position ${this.failure.position}; stopped there`,
    );
  }

  private merge(counters: BatchCounters): void {
    this.totals.applied += counters.applied;
    this.totals.unhandled += counters.unhandled;
    this.totals.newer += counters.newer;
    for (const [type, count] of Object.entries(counters.byType)) {
      this.totals.byType[type] = (this.totals.byType[type] ?? 0) + count;
    }
  }

  /** A held connection that dies emits 'error' outside any query: without a listener it would crash the process. */
  private watch(client: pg.PoolClient): void {
    if (this.watched.has(client)) return;
    this.watched.add(client);
    client.on('error', (error) => {
      if (this.held !== client) return; // idle in the pool: the pool handles it
      // The lock went with the connection: stop reporting active at once, and stop waiting for events.
      this.lost = error;
      this.lastError = messageOf(error);
      this.active = false;
      this.state = 'reconnecting';
      this.settings.logger.warn({ err: error, projection: this.projection.name }, 'read-model connection failed');
      this.dropSubscription?.();
    });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const NOT_YET = Symbol('not yet');

/** The promise's result if it settles before the next macrotask (i.e. without I/O), else undefined. */
async function settledNow<T>(promise: Promise<T>): Promise<T | undefined> {
  const result = await Promise.race([
    promise,
    new Promise<typeof NOT_YET>((resolve) => setImmediate(resolve, NOT_YET)),
  ]);
  return result === NOT_YET ? undefined : (result as T);
}

/** Sleeps `ms`, or less when the signal aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
