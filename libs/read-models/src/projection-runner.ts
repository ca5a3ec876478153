import pg from 'pg';
import { type EventStore, type ReadAllFilter, type RecordedEvent } from '@audit-ledger/event-store';
import { matchesFilter, prepareEvent, ProjectionBatch, unionFilter, type Projection } from './projection.js';
import { lockBatches } from './batch-locks.js';
import { inlineParameters, StatementQueue } from './statement-queue.js';
import { rebuildUnits } from './rebuild/rebuild-units.js';
import { advisoryLockKey, CHECKPOINTS_TABLE, runReadModelMigrations } from './read-model-migrations.js';
import { isTransientDatabaseError } from './database-errors.js';
import { silentReadModelLogger, type ReadModelLogger } from './read-model-logger.js';
import {
  applyOneParking,
  countParked,
  parkedNotice,
  parkEvent,
  type OnParked,
  type ParkedEvent,
} from './parked-events.js';

import type { RetentionStatus } from './retention/read-model-retention.job.js';

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
  /**
   * Wait before retrying when an event cannot be applied nor parked (the park itself failed). Default 30 s. An event
   * a projection deterministically cannot apply is parked at once (`read_models.parked_events`) and the projection
   * carries on; transient database errors are retried, never parked.
   */
  failureRetryMs?: number;
  /** How often the parked counts are re-read (a `retry-parked` of another process changes them). Default 5 s. */
  parkedRefreshMs?: number;
  /** `application_name` of the runner's connections (visible in pg_stat_activity). */
  applicationName?: string;
  /** Told of each event parked, once its park is committed (the ledger sends it to the alert sinks). */
  onParked?: OnParked;
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
  /** Checkpoint's version differs from the projection's: its rows were built by other code; rebuild them. */
  versionMismatch: boolean;
  /** With `versionMismatch`: what to do about it (`ledger projections rebuild <name>`). */
  versionMismatchHint?: string;
  /** Events applied by this process. */
  applied: number;
  /** Events not applied: `unhandled` (type not in `handles`), `newer` (schemaVersion newer than understood). */
  skipped: { unhandled: number; newer: number; byType: Record<string, number> };
  failure?: ProjectionFailure;
  /** Events this projection could not apply and set aside (`ledger projections retry-parked`); not unhealthy. */
  parked: number;
  /** The last event this process parked for this projection. */
  lastParked?: ParkedEvent;
  /** The last connection or lock error, if the worker is reconnecting. */
  lastError?: string;
}

export interface ProjectionRunnerStatus {
  /**
   * False when any projection is failed or reconnecting. Standby is healthy: another process is applying. Parked
   * events do not make it unhealthy (the projection carries on); `parked` counts them per projection.
   */
  healthy: boolean;
  /** Parked events per projection (only projections that have some). */
  parked: Record<string, number>;
  projections: ProjectionStatus[];
  /** The read models' retention job of this process, when the app runs one (`ReadModelRetention.status()`). */
  retention?: RetentionStatus;
}

/** The checkpoint row moved under us: another runner applied this projection. Ours stops and re-reads. */
export class CheckpointFenceError extends Error {
  readonly code = 'READ_MODELS.CHECKPOINT_MOVED';
  constructor(name: string, expected: bigint, found: bigint | undefined) {
    super(`Checkpoint of projection ${name} moved: expected position ${expected}, found ${found ?? 'no row'}`);
  }
}

/**
 * Runs projections: per unit of projections that write common tables (`rebuildUnits`; most units are one projection),
 * one worker takes the members' session-level advisory locks on a connection of its own, reads their checkpoints,
 * subscribes to the store after the lowest, and commits each batch of rows together with the new checkpoints.
 * Create with `ProjectionRunner.start`, stop with `stop()`; `status()` is for `/health`.
 */
export class ProjectionRunner {
  private readonly workers: ProjectionWorker[];
  private readonly abort = new AbortController();
  private readonly running: Promise<void>[];
  private readonly refreshTimer: NodeJS.Timeout;
  private stopping?: Promise<void>;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly options: ProjectionRunnerOptions,
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
      ...(options.onParked ? { onParked: options.onParked } : {}),
    };
    // Projections that write common tables run on one worker, in one transaction per batch (see ProjectionWorker).
    this.workers = rebuildUnits(options.projections).map((unit) => new ProjectionWorker(unit.projections, settings));
    this.running = this.workers.map((worker) => worker.run());
    this.refreshTimer = setInterval(() => void this.refreshParked(), options.parkedRefreshMs ?? 5000);
    this.refreshTimer.unref();
    void this.refreshParked();
  }

  /** Re-reads the parked counts (a retry by the CLI removes rows behind the workers' back). */
  private async refreshParked(): Promise<void> {
    try {
      const counts = await countParked(
        this.pool,
        this.options.projections.map((p) => p.name),
      );
      for (const worker of this.workers) worker.setParked(counts);
    } catch {
      // The workers report connection trouble themselves.
    }
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
    // A connection that dies while checked out emits 'error' too (watch() reports it for held ones): never a crash.
    pool.on('connect', (client) => client.on('error', () => undefined));
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
    const byName = new Map(this.workers.flatMap((worker) => worker.statuses()).map((s) => [s.name, s]));
    const projections = this.options.projections.map((p) => byName.get(p.name)!);
    return {
      healthy: projections.every((p) => p.state !== 'failed' && p.state !== 'reconnecting'),
      parked: Object.fromEntries(projections.filter((p) => p.parked > 0).map((p) => [p.name, p.parked])),
      projections,
    };
  }

  /** Finishes the batch in flight, closes the subscriptions and the connections (which releases the locks). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.abort.abort();
      clearInterval(this.refreshTimer);
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
  onParked?: OnParked;
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

/** The fence: the checkpoints of a worker's projections ($1), locked for the batch. */
const FENCE = `SELECT name, position::text AS position, version FROM ${CHECKPOINTS_TABLE}
  WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE`;

/** Every projection of a worker ($2) has seen everything up to $1 (one already past it keeps its checkpoint). */
const SAVE_CHECKPOINTS = `UPDATE ${CHECKPOINTS_TABLE}
    SET position = GREATEST(position, $1::bigint), updated_at = now(), error = NULL, error_position = NULL,
        error_event_id = NULL, error_event_type = NULL, error_at = NULL, failures = 0
  WHERE name = ANY($2::text[])`;

const TRANSIENT_RETRY_MS = 50;
/** Consecutive transient failures after which the projection reports itself unhealthy while it retries. */
const TRANSIENT_STREAK_UNHEALTHY = 8;

/** A projection error: the event it threw on, and why. */
class EventFailure {
  constructor(
    readonly member: Member,
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

/** One projection of a worker: its checkpoint, counters and failure as this process knows them. */
class Member {
  position = 0n;
  versionMismatch = false;
  storedVersion?: number;
  readonly totals = emptyCounters();
  failure?: ProjectionFailure;
  parked = 0;
  lastParked?: ParkedEvent;

  constructor(readonly projection: Projection) {}

  /** Says the stored rows come from another version of the projection, and how to rebuild them. */
  versionMismatchHint(): string {
    const { name, version } = this.projection;
    return (
      `projection ${name}: its rows and checkpoint were written by version ${this.storedVersion ?? '?'} and the code ` +
      `is version ${version}; run \`ledger projections rebuild ${name}\` to rebuild them from position 0`
    );
  }

  merge(counters: BatchCounters): void {
    this.totals.applied += counters.applied;
    this.totals.unhandled += counters.unhandled;
    this.totals.newer += counters.newer;
    for (const [type, count] of Object.entries(counters.byType)) {
      this.totals.byType[type] = (this.totals.byType[type] ?? 0) + count;
    }
  }
}

/**
 * Applies the projections of one unit (those sharing tables, see `rebuildUnits`; usually one projection) on one
 * connection: holds every member's advisory lock, reads one subscription from the lowest member checkpoint, and
 * applies each batch in one transaction, event by event in global order and, per event, member by member in the
 * runner's order, each member only to the events past its own checkpoint and within its own filter; then moves every
 * member's checkpoint. Members of one unit therefore never wait for each other's commits.
 */
class ProjectionWorker {
  private state: ProjectionState = 'starting';
  private active = false;
  private lastError?: string;
  private readonly members: Member[];
  private readonly names: string[];
  private readonly lockKeys: string[];
  private readonly filter: ReadAllFilter | undefined;
  private readonly watched = new WeakSet<pg.PoolClient>();
  /** The connection holding the locks, and what to do when it dies while the worker waits for events. */
  private held?: pg.PoolClient;
  private lost?: Error;
  private dropSubscription?: () => void;
  /** Consecutive batches the database aborted for a transient reason (reset by a committed batch). */
  private transientStreak = 0;
  /** Bumped when this worker parks an event (see `ProjectionRunner.refreshParked`). */
  parkGeneration = 0;

  constructor(
    projections: readonly Projection[],
    private readonly settings: WorkerSettings,
  ) {
    this.members = projections.map((projection) => new Member(projection));
    this.names = projections.map((p) => p.name);
    this.lockKeys = projections.map((p) => advisoryLockKey(p.name));
    this.filter = unionFilter(projections.map((p) => p.filter));
  }

  private get label(): string {
    return this.names.join('+');
  }

  statuses(): ProjectionStatus[] {
    return this.members.map((member) => {
      return {
        name: member.projection.name,
        version: member.projection.version,
        // A member held back by another member's failure is not failed itself: it catches up once that is fixed.
        state: this.state === 'failed' && !member.failure ? 'catching_up' : this.state,
        active: this.active,
        position: member.position.toString(),
        versionMismatch: member.versionMismatch,
        ...(member.versionMismatch ? { versionMismatchHint: member.versionMismatchHint() } : {}),
        applied: member.totals.applied,
        skipped: {
          unhandled: member.totals.unhandled,
          newer: member.totals.newer,
          byType: { ...member.totals.byType },
        },
        ...(member.failure ? { failure: { ...member.failure } } : {}),
        parked: member.parked,
        ...(member.lastParked ? { lastParked: { ...member.lastParked } } : {}),
        ...(this.lastError ? { lastError: this.lastError } : {}),
      };
    });
  }

  setParked(counts: ReadonlyMap<string, number>): void {
    for (const member of this.members) member.parked = counts.get(member.projection.name) ?? 0;
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
        logger.warn({ err: error, projection: this.label }, 'projection lost its connection or lock');
        await pause(
          error instanceof CheckpointFenceError ? this.settings.lockRetryMs : this.settings.reconnectMs,
          signal,
        );
      } finally {
        this.active = false;
        this.held = undefined;
        // Closing the connection releases the session-level advisory locks (and rolls back anything left open).
        if (client) client.release(true);
      }
    }
    this.state = 'stopped';
  }

  /** Takes every member's lock on a connection of its own, retrying until it gets them all or is stopped. */
  private async acquire(): Promise<pg.PoolClient | undefined> {
    const { pool, signal } = this.settings;
    while (!signal.aborted) {
      const client = await pool.connect();
      this.watch(client);
      let locked: boolean;
      try {
        const { rows } = await client.query<{ key: string; locked: boolean }>(
          'SELECT key::text, pg_try_advisory_lock(key) AS locked FROM unnest($1::bigint[]) WITH ORDINALITY AS k(key, n) ORDER BY n',
          [this.lockKeys],
        );
        locked = rows.length === this.lockKeys.length && rows.every((row) => row.locked);
        if (!locked) {
          const taken = rows.filter((row) => row.locked).map((row) => row.key);
          if (taken.length > 0) {
            await client.query('SELECT pg_advisory_unlock(key) FROM unnest($1::bigint[]) AS k(key)', [taken]);
          }
          await this.readCheckpoints(client); // a standby still reports where the active process is
        }
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

  /** With the locks held: read the checkpoints, subscribe after them, apply; on a projection error wait and retry. */
  private async follow(client: pg.PoolClient): Promise<void> {
    const { signal } = this.settings;
    this.active = true;
    this.lastError = undefined;
    await client.query(
      `INSERT INTO ${CHECKPOINTS_TABLE} (name, version)
       SELECT * FROM unnest($1::text[], $2::integer[]) ON CONFLICT DO NOTHING`,
      [this.names, this.members.map((m) => m.projection.version)],
    );
    this.transientStreak = 0;
    while (!signal.aborted) {
      await this.readCheckpoints(client);
      if (this.transientStreak < TRANSIENT_STREAK_UNHEALTHY) {
        this.state = this.members.some((m) => m.failure) ? 'failed' : 'catching_up';
      }
      const failed = await this.consume(client);
      if (this.lost) throw this.lost;
      if (!failed) return;
      if (failed === 'moved') {
        for (const member of this.members) member.failure = undefined;
        this.settings.logger.info(
          { projection: this.label, from: this.from().toString() },
          'projection checkpoint moved (rebuilt and swapped in): continuing from the new checkpoint',
        );
        continue;
      }
      if (failed === 'parked') {
        this.transientStreak = 0;
        continue; // the checkpoint moved past the parked event: carry on from there
      }
      if (failed === 'transient') {
        // Batches of other workers can lock the same rows in opposite orders; PostgreSQL aborts one. Not the
        // projection's fault: apply the batch again shortly instead of waiting failureRetryMs as for a real failure.
        // A transient error that persists (a full disk, a statement timeout) backs off, and says so in /health.
        this.transientStreak += 1;
        if (this.transientStreak >= TRANSIENT_STREAK_UNHEALTHY) {
          this.state = 'reconnecting';
          this.lastError = "the database keeps aborting this projection's batches (transient errors); retrying";
        }
        const wait = Math.min(
          this.settings.failureRetryMs,
          TRANSIENT_RETRY_MS * 2 ** Math.min(this.transientStreak, 12),
        );
        await pause(wait + Math.floor(Math.random() * TRANSIENT_RETRY_MS), signal);
        continue;
      }
      this.transientStreak = 0;
      this.state = 'failed';
      await pause(this.settings.failureRetryMs, signal);
    }
  }

  /** Where the subscription starts: the lowest member checkpoint. */
  private from(): bigint {
    return this.members.reduce((low, m) => (m.position < low ? m.position : low), this.members[0]!.position);
  }

  private async readCheckpoints(client: pg.PoolClient): Promise<void> {
    const { rows } = await client.query<CheckpointRow & { name: string }>(
      `SELECT name, position, version, error, error_position, error_event_id, error_event_type, error_at, failures
         FROM ${CHECKPOINTS_TABLE} WHERE name = ANY($1::text[])`,
      [this.names],
    );
    for (const member of this.members) {
      const row = rows.find((r) => r.name === member.projection.name);
      if (row) this.readCheckpoint(member, row);
    }
  }

  private readCheckpoint(member: Member, row: CheckpointRow): void {
    member.position = BigInt(row.position);
    const mismatch = row.version !== member.projection.version;
    if (mismatch && (!member.versionMismatch || member.storedVersion !== row.version)) {
      member.storedVersion = row.version;
      this.settings.logger.warn(
        { projection: member.projection.name, storedVersion: row.version, version: member.projection.version },
        member.versionMismatchHint(),
      );
    }
    member.storedVersion = row.version;
    member.versionMismatch = mismatch;
    if (row.error !== null && row.error_position !== null) {
      member.failure = {
        position: row.error_position,
        eventId: row.error_event_id ?? '',
        eventType: row.error_event_type ?? '',
        message: row.error,
        at: (row.error_at ?? new Date(0)).toISOString(),
        attempts: member.failure?.attempts ?? row.failures,
      };
    } else {
      member.failure = undefined;
    }
  }

  /**
   * Applies batches until stopped (returns false), the database aborts a batch for a transient reason such as a
   * deadlock (returns 'transient'), a checkpoint moved under the lock (a rebuild swapped the tables: returns
   * 'moved'), or a projection throws (records it, returns 'failed').
   */
  private async consume(client: pg.PoolClient): Promise<false | 'failed' | 'transient' | 'moved' | 'parked'> {
    const { signal, store, batchSize } = this.settings;
    const subscription = store.subscribeToAll({ fromPosition: this.from(), filter: this.filter });
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
        let failure: EventFailure | undefined;
        try {
          failure = await this.commitBatch(client, batch);
        } catch (error) {
          // Holding the lock, only a rebuild moves the checkpoint (it swapped in rebuilt rows): start over from it.
          if (error instanceof CheckpointFenceError) return 'moved';
          throw error;
        }
        if (failure) {
          if (isTransientDatabaseError(failure.cause)) return 'transient';
          // Everything before the event is committed. Apply the event alone, each member on a savepoint: a member
          // that fails again parks it, in the transaction that moves the checkpoints past it.
          let parked: 'parked' | 'transient';
          try {
            parked = await this.parkOrApply(client, failure.event);
          } catch (error) {
            if (error instanceof CheckpointFenceError) return 'moved';
            if (!isParkFailure(error)) throw error;
            await this.recordFailure(client, new EventFailure(failure.member, failure.event, error.cause));
            return 'failed';
          }
          return parked;
        }
        if (this.transientStreak > 0) {
          this.transientStreak = 0;
          this.lastError = undefined;
        }
        if (drained && !this.members.some((m) => m.failure)) this.state = 'live';
      }
      return false;
    } finally {
      this.dropSubscription = undefined;
      signal.removeEventListener('abort', onAbort);
      await subscription.close();
    }
  }

  /**
   * One transaction: check that the checkpoints are still where this worker left them (a fence against a second
   * runner whose lock was lost), apply the events, move the checkpoints. If a projection throws on an event, the
   * whole transaction is rolled back and the events before it are committed again in a new one, so the checkpoints
   * stop just below the failing event. Connection errors are thrown.
   */
  private async commitBatch(
    client: pg.PoolClient,
    events: RecordedEvent[],
    queued = true,
  ): Promise<EventFailure | undefined> {
    const counters = this.members.map(() => emptyCounters());
    // Per member: the events past its checkpoint and within its filter, and the batch it applies them in.
    const parts = this.members.map((member) => {
      const mine = events.filter(
        (e) => e.globalPosition > member.position && matchesFilter(member.projection.filter, e),
      );
      return { member, events: mine, batch: new ProjectionBatch(mine) };
    });
    // Statements whose results nobody reads wait for the next one that is read (statement-queue.ts).
    const queue = queued ? new StatementQueue(client) : undefined;
    const db = queue?.client ?? client;
    let failure: EventFailure | undefined;
    try {
      await this.beginFenced(client, queue);
      await lockBatches(
        db,
        parts.map((part) => ({ projection: part.member.projection, events: part.events })),
      );
      for (const event of events) {
        for (const [i, part] of parts.entries()) {
          if (event.globalPosition <= part.member.position) continue;
          if (!matchesFilter(part.member.projection.filter, event)) continue;
          try {
            await applyOne(part.member.projection, db, event, part.batch, counters[i]!);
          } catch (error) {
            if (!(error instanceof CheckpointFenceError)) failure = new EventFailure(part.member, event, error);
            throw error;
          }
        }
      }
      for (const part of parts) {
        const last = part.events[part.events.length - 1];
        try {
          await part.batch.finish(db);
        } catch (error) {
          if (last && !(error instanceof CheckpointFenceError)) failure = new EventFailure(part.member, last, error);
          throw error;
        }
      }
      await this.saveCheckpointsAndCommit(client, events[events.length - 1]!.globalPosition, queue);
    } catch (error) {
      // A dead connection fails the rollback too: then it is not the projection's fault, rethrow.
      await client.query('ROLLBACK').catch(() => {
        throw error;
      });
      if (error instanceof CheckpointFenceError) throw error;
      // A queued statement's error surfaces at a later call, maybe another event's: apply the batch again with each
      // statement on its own round trip, which fails at the very event (or commits, if the error was transient).
      if (queue?.failedWithQueued) return this.commitBatch(client, events, false);
      if (!failure) throw error;
      const failing = failure;
      const before = events.filter((e) => e.globalPosition < failing.event.globalPosition);
      if (before.length > 0) {
        const again = await this.commitBatch(client, before);
        if (again) return again; // not deterministic: report the earlier event
      }
      return failure;
    }
    const last = events[events.length - 1]!.globalPosition;
    for (const [i, member] of this.members.entries()) {
      if (member.position < last) member.position = last;
      member.merge(counters[i]!);
      if (member.failure) {
        this.settings.logger.info({ projection: member.projection.name }, 'projection recovered');
        member.failure = undefined;
      }
    }
    return undefined;
  }

  /**
   * One transaction for one event the batch failed on: each member past whose checkpoint and within whose filter it
   * lies applies it on a savepoint; a member that fails deterministically parks it (recorded, logged); a transient
   * database error rolls everything back (nothing parked: 'transient'). The checkpoints move past the event in the
   * same transaction as the park records, so an event is either applied or parked, exactly once.
   */
  private async parkOrApply(client: pg.PoolClient, event: RecordedEvent): Promise<'parked' | 'transient'> {
    const parkedNow: { member: Member; parked: ParkedEvent; cause: unknown }[] = [];
    const counters = this.members.map(() => emptyCounters());
    try {
      await this.beginFenced(client);
      for (const [i, member] of this.members.entries()) {
        if (event.globalPosition <= member.position) continue;
        if (!matchesFilter(member.projection.filter, event)) continue;
        const outcome = await applyOneParking(member.projection, client, event, (batch) =>
          applyOne(member.projection, client, event, batch, counters[i]!),
        );
        if (outcome.kind === 'transient') {
          await client.query('ROLLBACK');
          return 'transient';
        }
        if (outcome.kind === 'failed') {
          try {
            const parked = await parkEvent(client, member.projection.name, event, messageOf(outcome.cause));
            parkedNow.push({ member, parked, cause: outcome.cause });
          } catch (error) {
            throw new ParkFailure(error);
          }
        }
      }
      await this.saveCheckpointsAndCommit(client, event.globalPosition);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        throw error;
      });
      if (isTransientDatabaseError(error)) return 'transient';
      throw error;
    }
    for (const [i, member] of this.members.entries()) {
      if (member.position < event.globalPosition) member.position = event.globalPosition;
      member.merge(counters[i]!);
      member.failure = undefined;
    }
    if (parkedNow.length > 0) this.parkGeneration += 1;
    for (const { member, parked, cause } of parkedNow) {
      member.parked += 1;
      member.lastParked = parked;
      this.settings.logger.error(
        { err: cause, projection: member.projection.name, ...parked },
        `projection ${member.projection.name} cannot apply the event at position ${parked.position}: parked it and ` +
          `carries on (fix, then \`ledger projections retry-parked ${member.projection.name}\`)`,
      );
      try {
        this.settings.onParked?.(parkedNotice(member.projection.name, event, parked));
      } catch (error) {
        this.settings.logger.error({ err: error, projection: member.projection.name }, 'onParked failed');
      }
    }
    return 'parked';
  }

  /**
   * Opens the batch's transaction and fences it (`BEGIN` and the fence as one simple query: the names are inlined as
   * literals, so no parameters). With a queue, the text waits for the batch's first statement whose result is read and
   * goes with it, and the fence is checked before that result is used; else it is one round trip of its own. A failure
   * leaves the transaction for the caller to roll back.
   *
   * The batch commits without waiting for its WAL flush (`synchronous_commit = off` for this transaction only): its
   * rows and its checkpoints commit atomically and are derived from the log, so a crash can only lose the last
   * batches whole, rows and checkpoints together, and the projection applies them again from the checkpoint that
   * survived. Events are never written here: every append keeps `synchronous_commit` on (docs/architecture.md).
   */
  private async beginFenced(client: pg.PoolClient, queue?: StatementQueue): Promise<void> {
    type Fence = pg.QueryResult<{ name: string; position: string; version: number }>;
    if (queue) {
      // Sent with the batch's first statement that is waited for, and checked before its result is used.
      queue.addText('BEGIN; SET LOCAL synchronous_commit = off', 2);
      return queue.add(FENCE, [this.names], (results) => this.checkFence((results[0] as Fence).rows));
    }
    const results = (await client.query(
      `BEGIN; SET LOCAL synchronous_commit = off; ${inlineParameters(FENCE, [this.names])}`,
    )) as unknown as Fence[];
    this.checkFence(results[2]!.rows);
  }

  private checkFence(rows: readonly { name: string; position: string; version: number }[]): void {
    for (const member of this.members) {
      const row = rows.find((r) => r.name === member.projection.name);
      const found = row ? BigInt(row.position) : undefined;
      if (found !== member.position) throw new CheckpointFenceError(member.projection.name, member.position, found);
      // A rebuild that ended where this worker was still rewrote the rows (and the version): re-read it.
      if (row!.version !== member.storedVersion) {
        throw new CheckpointFenceError(member.projection.name, member.position, found);
      }
    }
  }

  /**
   * Every member has now seen everything up to `position` (a member already past it keeps its checkpoint); commits.
   * One round trip: the UPDATE and `COMMIT` as one simple query, after the statements still queued (PostgreSQL runs
   * nothing after a statement that fails in it, so a failed statement leaves the transaction open and aborted for the
   * caller's ROLLBACK). A fence not checked yet goes on a round trip of its own first: it is checked here, in Node.
   */
  private async saveCheckpointsAndCommit(
    client: pg.PoolClient,
    position: bigint,
    queue?: StatementQueue,
  ): Promise<void> {
    const values = [position.toString(), this.names];
    if (!queue) {
      await client.query(`${inlineParameters(SAVE_CHECKPOINTS, values)}; COMMIT`);
      return;
    }
    // The fence is checked before anything commits: a batch that waited for no result sends its fence first.
    if (queue.checking) await queue.sendWith('', 0);
    await queue.add(SAVE_CHECKPOINTS, values);
    await queue.sendWith('COMMIT', 1);
  }

  private async recordFailure(client: pg.PoolClient, failure: EventFailure): Promise<void> {
    const message = messageOf(failure.cause);
    const { member } = failure;
    const { rows } = await client.query<{ failures: number; error_at: Date }>(
      `UPDATE ${CHECKPOINTS_TABLE}
          SET error = $2, error_position = $3, error_event_id = $4, error_event_type = $5, error_at = now(),
              failures = failures + 1
        WHERE name = $1
        RETURNING failures, error_at`,
      [
        member.projection.name,
        message,
        failure.event.globalPosition.toString(),
        failure.event.eventId,
        failure.event.type,
      ],
    );
    const attempts =
      member.failure?.position === failure.event.globalPosition.toString() ? member.failure.attempts + 1 : 1;
    member.failure = {
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
        projection: member.projection.name,
        position: member.failure.position,
        eventId: failure.event.eventId,
        eventType: failure.event.type,
        attempts,
      },
      `projection ${member.projection.name} failed on event at position ${member.failure.position}; stopped there`,
    );
  }

  /** A held connection that dies emits 'error' outside any query: without a listener it would crash the process. */
  private watch(client: pg.PoolClient): void {
    if (this.watched.has(client)) return;
    this.watched.add(client);
    client.on('error', (error) => {
      if (this.held !== client) return; // idle in the pool: the pool handles it
      // The locks went with the connection: stop reporting active at once, and stop waiting for events.
      this.lost = error;
      this.lastError = messageOf(error);
      this.active = false;
      this.state = 'reconnecting';
      this.settings.logger.warn({ err: error, projection: this.label }, 'read-model connection failed');
      this.dropSubscription?.();
    });
  }
}

async function applyOne(
  projection: Projection,
  client: pg.PoolClient,
  event: RecordedEvent,
  batch: ProjectionBatch,
  counters: BatchCounters,
): Promise<void> {
  const prepared = prepareEvent(projection, event);
  if (prepared.kind === 'skip') {
    counters[prepared.reason] += 1;
    counters.byType[event.type] = (counters.byType[event.type] ?? 0) + 1;
    return;
  }
  await projection.apply(client, prepared.event, batch);
  counters.applied += 1;
}

/** The park record itself could not be written: the projection stops at the event as before (and retries). */
class ParkFailure extends Error {
  constructor(override readonly cause: unknown) {
    super(`could not park: ${messageOf(cause)}`);
  }
}

function isParkFailure(error: unknown): error is ParkFailure {
  return error instanceof ParkFailure;
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
