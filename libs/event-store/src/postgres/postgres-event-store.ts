import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AppendOptions,
  type AppendResult,
  type EventStore,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeToAllOptions,
  type Subscription,
} from '../event-store.port.js';
import { EventStoreUnavailableError, StreamNotFoundError } from '../errors.js';
import { AllStreamReader } from './all-stream-reader.js';
import { AppendBatcher } from './append-batcher.js';
import { validateAppend } from './append-validation.js';
import { ChangeNotifier } from './change-notifier.js';
import { GapTracker } from './gap-free-reader.js';
import { LiveFeed } from './live-feed.js';
import { EVENTS_TABLE, MIGRATIONS_TABLE } from './ledger-schema.js';
import { silentLogger, type EventStoreLogger } from './logger.js';
import { runMigrations } from './migrations.js';
import { PostgresSubscription } from './postgres-subscription.js';
import { EVENT_COLUMNS, toRecordedEvent, type EventRow } from './row-mapping.js';
import { WriterPool } from './writer-pool.js';

export interface PostgresEventStoreOptions {
  /** The owner's (or a superuser's) connection: migrations run with it, the service then runs as `ledger_writer`. */
  connectionString: string;
  /** Connections in the pool (appends, reads); the LISTEN connection comes on top. Default 10. */
  poolSize?: number;
  logger?: EventStoreLogger;
  /** Apply pending migrations before connecting. Default true. */
  migrate?: boolean;
  /**
   * Batches written at the same time (1 or 2). Default 1: with the database on the same few cores, one flusher makes
   * fewer, larger transactions and measured as fast or faster than two at every load (docs/benchmarks.md). Two let
   * one batch's reads overlap the other's commit, which pays when round trips, not CPU, are the limit (a remote
   * database).
   */
  flushers?: number;
  /** Events per group-commit transaction. Default 500. */
  maxBatchEvents?: number;
  /** A subscription re-reads at least this often when idle. Default 500 ms. */
  pollIntervalMs?: number;
  /**
   * A live subscription reads again at most this soon after a read that caught up (notifications in between are
   * gathered into one read). Default 10 ms; 0 reads on every notification.
   */
  minReadIntervalMs?: number;
  /**
   * Under a steady stream of commits the shared live reader (`sharedLiveReads`) waits up to this long after a read
   * before the next one, aiming at about 64 events per read (the faster events come, the shorter the wait; never
   * under `minReadIntervalMs`): lone commits then reach the workers in batches instead of one read, projection
   * transaction and verdict commit each. Default 50 ms; the live delay of a subscription is at most this.
   */
  maxReadIntervalMs?: number;
  /** How long readAll waits for a hole in the global order to fill or be proven permanent. Default 1000 ms. */
  readAllHoleWaitMs?: number;
  /**
   * Subscriptions near the head share one reader (`LiveFeed`): each event is read and parsed once per store, one
   * notification causes one read. Default true; false: every subscription reads for itself.
   */
  sharedLiveReads?: boolean;
}

export interface EventStoreHealth {
  database: boolean;
  migrationsApplied: number;
  subscriptionsAlive: number;
  /** Appends waiting for a batch. */
  pendingAppends: number;
}

const READ_PAGE = 1000;
const SUBSCRIPTION_PAGE = 256;
/** Events per read of the shared live feed, and how many it keeps for subscriptions a little behind the head. */
const FEED_PAGE = 1000;
const FEED_RETAIN = 4096;
/** Events a read of the shared live feed aims at under load (see `maxReadIntervalMs`). */
const FEED_TARGET_EVENTS = 64;
const DEFAULT_MIN_READ_INTERVAL_MS = 10;
const DEFAULT_MAX_READ_INTERVAL_MS = 50;
const HEALTH_TIMEOUT_MS = 2000;

/** The PostgreSQL adapter of the event store port. Create it with `PostgresEventStore.connect`. */
export class PostgresEventStore implements EventStore {
  private readonly pool: WriterPool;
  private readonly batcher: AppendBatcher;
  private readonly reader: AllStreamReader;
  private readonly notifier: ChangeNotifier;
  private readonly feed?: LiveFeed;
  private readonly subscriptions = new Set<PostgresSubscription>();
  private readonly logger: EventStoreLogger;
  private closing?: Promise<void>;
  private migrationsApplied = 0;

  private constructor(private readonly options: PostgresEventStoreOptions) {
    this.logger = options.logger ?? silentLogger;
    this.pool = new WriterPool({
      connectionString: options.connectionString,
      poolSize: options.poolSize ?? 10,
      logger: this.logger,
    });
    this.batcher = new AppendBatcher({
      pool: this.pool,
      maxBatchEvents: options.maxBatchEvents ?? 500,
      flushers: Math.min(Math.max(options.flushers ?? 1, 1), 2),
      logger: this.logger,
    });
    this.reader = new AllStreamReader(this.pool);
    this.notifier = new ChangeNotifier({ connectionString: options.connectionString, logger: this.logger });
    if (options.sharedLiveReads !== false) {
      this.feed = new LiveFeed({
        reader: this.reader,
        pageSize: FEED_PAGE,
        retainEvents: FEED_RETAIN,
        pollIntervalMs: options.pollIntervalMs ?? 500,
        minIntervalMs: options.minReadIntervalMs ?? DEFAULT_MIN_READ_INTERVAL_MS,
        maxIntervalMs: options.maxReadIntervalMs ?? DEFAULT_MAX_READ_INTERVAL_MS,
        targetEvents: FEED_TARGET_EVENTS,
      });
    }
  }

  /** Applies pending migrations (unless `migrate: false`), then checks that the writer role can read the ledger. */
  static async connect(options: PostgresEventStoreOptions): Promise<PostgresEventStore> {
    const logger = options.logger ?? silentLogger;
    if (options.migrate !== false) await runMigrations(options.connectionString, { logger });
    const store = new PostgresEventStore(options);
    try {
      store.migrationsApplied = await store.countMigrations();
    } catch (error) {
      await store.pool.end();
      throw new EventStoreUnavailableError('The event store cannot read the ledger schema as ledger_writer', {
        cause: error,
      });
    }
    return store;
  }

  appendToStream(streamId: string, events: NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    try {
      return this.batcher.append(validateAppend(streamId, events, options.expectedRevision, options.derivedPaths));
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    this.assertOpen();
    const forwards = (options.direction ?? 'forwards') === 'forwards';
    const { rows } = await this.pool.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM ${EVENTS_TABLE}
        WHERE stream_id = $1 AND global_position >= 1 AND ($2::bigint IS NULL OR stream_revision ${forwards ? '>=' : '<='} $2::bigint)
        ORDER BY stream_revision ${forwards ? 'ASC' : 'DESC'}
        LIMIT $3`,
      [streamId, revisionBound(options.fromRevision), countLimit(options.maxCount)],
    );
    if (rows.length === 0 && !(await this.streamExists(streamId))) throw new StreamNotFoundError(streamId);
    return rows.map(toRecordedEvent);
  }

  /**
   * Returns only positions proven safe (see gap-free-reader.ts): at a hole in the global order it waits up to
   * `readAllHoleWaitMs` for the hole to fill or be proven permanent, then returns what is safe so far, possibly fewer
   * than `maxCount` events. Reading on from the last position returned never misses an event.
   */
  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    this.assertOpen();
    const maxCount = countLimit(options.maxCount) ?? Number.POSITIVE_INFINITY;
    const tracker = new GapTracker();
    const events: RecordedEvent[] = [];
    let cursor = fromPositionOf(options.fromPosition);
    const deadline = Date.now() + (this.options.readAllHoleWaitMs ?? 1000);
    let holeRetry = 1;
    while (events.length < maxCount) {
      const maxEvents = Math.min(maxCount - events.length, READ_PAGE);
      // Near the head, what the live feed holds (already read and parsed); then read on from the end of its window.
      const held = this.feed?.heldAfter(cursor, options.filter, maxEvents);
      const page = held ?? (await this.reader.readPage(cursor, { filter: options.filter, maxEvents }, tracker));
      events.push(...page.events);
      cursor = page.cursor;
      if (held) continue;
      if (page.blocked) {
        if (Date.now() >= deadline) break;
        await sleep(holeRetry);
        holeRetry = Math.min(holeRetry * 2, 50);
      } else if (!page.more) {
        break;
      }
    }
    return events;
  }

  subscribeToAll(options: SubscribeToAllOptions = {}): Subscription {
    this.assertOpen();
    const subscription = new PostgresSubscription({
      reader: this.reader,
      notifier: this.notifier,
      ...(this.feed ? { feed: this.feed } : {}),
      fromPosition: fromPositionOf(options.fromPosition),
      filter: options.filter,
      pageSize: SUBSCRIPTION_PAGE,
      pollIntervalMs: this.options.pollIntervalMs ?? 500,
      minReadIntervalMs: options.minReadIntervalMs ?? this.options.minReadIntervalMs ?? DEFAULT_MIN_READ_INTERVAL_MS,
      logger: this.logger,
      onClosed: (closed) => this.subscriptions.delete(closed),
    });
    this.subscriptions.add(subscription);
    return subscription;
  }

  async streamExists(streamId: string): Promise<boolean> {
    this.assertOpen();
    const { rows } = await this.pool.query<{ exists: boolean }>(
      `SELECT EXISTS (SELECT FROM ${EVENTS_TABLE} WHERE stream_id = $1 AND global_position >= 1) AS exists`,
      [streamId],
    );
    return rows[0]?.exists ?? false;
  }

  async headPosition(): Promise<bigint> {
    this.assertOpen();
    const { rows } = await this.pool.query<{ head: string | null }>(
      `SELECT max(global_position)::text AS head FROM ${EVENTS_TABLE}`,
    );
    return BigInt(rows[0]?.head ?? 0);
  }

  /** Reads the shared live reader has made (0 without `sharedLiveReads`): what following the head costs. */
  get liveReads(): number {
    return this.feed?.reads ?? 0;
  }

  /** The connection pool's use (metrics): open, idle, waiting callers. */
  poolUsage(): { total: number; idle: number; waiting: number } {
    return this.pool.usage();
  }

  /** For `/health`: never throws; `database` is false when the ledger cannot be read within 2 s. */
  async health(): Promise<EventStoreHealth> {
    let database = false;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('health check timed out')), HEALTH_TIMEOUT_MS);
      });
      this.migrationsApplied = await Promise.race([this.countMigrations(), timeout]);
      database = true;
    } catch (error) {
      this.logger.warn({ err: error }, 'event store health check failed');
    } finally {
      clearTimeout(timer);
    }
    return {
      database,
      migrationsApplied: this.migrationsApplied,
      subscriptionsAlive: [...this.subscriptions].filter((subscription) => subscription.isAlive).length,
      pendingAppends: this.batcher.pending,
    };
  }

  /** Ends subscriptions, answers every queued append, then closes all connections. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
      await this.batcher.close();
      await this.pool.end();
    })();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closing) throw new EventStoreUnavailableError('The event store is closed');
  }

  private async countMigrations(): Promise<number> {
    const { rows } = await this.pool.query<{ count: number }>(`SELECT count(*)::int AS count FROM ${MIGRATIONS_TABLE}`);
    return rows[0]?.count ?? 0;
  }
}

/**
 * Reads start after position 0 at the lowest: the ledger assigns positions from 1 and a row below (written around the
 * sequence, issue 10 finding 4) is never served as an event; `ledger verify` reports it.
 */
function fromPositionOf(fromPosition: bigint | undefined): bigint {
  return fromPosition === undefined || fromPosition < 0n ? 0n : fromPosition;
}

function revisionBound(fromRevision: number | undefined): number | null {
  if (fromRevision === undefined) return null;
  if (!Number.isSafeInteger(fromRevision) || fromRevision < 0) {
    throw new RangeError(`fromRevision must be a non-negative integer, got ${fromRevision}`);
  }
  return fromRevision;
}

/** `undefined` for no limit; a count must be a non-negative integer. */
function countLimit(maxCount: number | undefined): number | undefined {
  if (maxCount === undefined) return undefined;
  if (!Number.isSafeInteger(maxCount) || maxCount < 0) {
    throw new RangeError(`maxCount must be a non-negative integer, got ${maxCount}`);
  }
  return maxCount;
}
