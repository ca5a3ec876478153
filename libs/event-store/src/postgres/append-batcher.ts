import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { type AppendResult } from '../event-store.port.js';
import { EventStoreUnavailableError } from '../errors.js';
import { writeBatch, type RequestOutcome } from './append-transaction.js';
import { type ValidAppend } from './append-validation.js';
import { type EventStoreLogger } from './logger.js';
import { appendFailure, isConnectionError, isRetryableRace } from './pg-errors.js';
import { StreamHeadCache } from './stream-head-cache.js';
import { type WriterPool } from './writer-pool.js';

export interface AppendBatcherOptions {
  pool: WriterPool;
  /** A batch takes waiting requests up to this many events (a larger single request goes alone). */
  maxBatchEvents: number;
  /** Flushers writing at the same time, each on its own pooled connection (see PostgresEventStoreOptions). */
  flushers: number;
  logger: EventStoreLogger;
}

interface Pending {
  request: ValidAppend;
  resolve(result: AppendResult): void;
  reject(error: Error): void;
}

/** Attempts for one request (its batch included) when it keeps losing races or connections. */
const SOLO_ATTEMPTS = 3;
const CONNECTION_RETRY_DELAY_MS = 50;

/**
 * Group commit. Appends wait in a queue; a flusher takes everything waiting (up to the cap) and writes it in one
 * transaction, so many callers share one commit and its fsync. Callers are answered only after COMMIT.
 *
 * At most one flusher is at the front at a time: from the moment it starts collecting until it sends its INSERT and
 * COMMIT. It takes the batch once it holds a connection; requests that arrive while it locks, reads and plans wait
 * for the next flusher, which starts as soon as this one sends its COMMIT. So with two flushers, one batch's planning
 * overlaps the other's commit flush, and a second transaction never starts with the one request that came a few
 * microseconds after the first (it would only compete with it for the CPU and the WAL flush).
 */
export class AppendBatcher {
  private readonly queue: Pending[] = [];
  private running = 0;
  private collecting = 0;
  private closed = false;
  private readonly idle: (() => void)[] = [];
  /** Shared by the flushers: a batch planned at the front leaves its heads for the next one (see writeBatch). */
  private readonly heads = new StreamHeadCache();

  constructor(private readonly options: AppendBatcherOptions) {}

  get pending(): number {
    return this.queue.length;
  }

  append(request: ValidAppend): Promise<AppendResult> {
    if (this.closed) {
      return Promise.reject(
        new EventStoreUnavailableError(`The event store is closed (append to ${request.streamId})`),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.kick();
    });
  }

  /** Refuses new appends and waits until every queued one is answered. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.running === 0 && this.queue.length === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private kick(): void {
    while (this.queue.length > 0 && this.collecting === 0 && this.running < this.options.flushers) {
      this.running += 1;
      this.collecting += 1;
      void this.runFlusher();
    }
  }

  private async runFlusher(): Promise<void> {
    try {
      for (;;) {
        await this.flushOnce();
        // Go on collecting unless the queue is empty or another flusher already collects what is waiting.
        if (this.queue.length === 0 || this.collecting > 0) return;
        this.collecting += 1;
      }
    } finally {
      this.running -= 1;
      this.kick();
      if (this.running === 0 && this.queue.length === 0) for (const resolve of this.idle.splice(0)) resolve();
    }
  }

  /** Collects: waits for a connection, then takes what is waiting by then, and writes it. */
  private async flushOnce(): Promise<void> {
    let atFront = true;
    const leaveFront = () => {
      if (!atFront) return;
      atFront = false;
      this.collecting -= 1;
      this.kick();
    };
    let client: pg.PoolClient | undefined;
    let acquireError: unknown;
    try {
      client = await this.options.pool.acquire();
    } catch (error) {
      acquireError = error;
    }
    const batch = this.takeBatch();
    try {
      if (!client) {
        leaveFront();
        for (const pending of batch) pending.reject(appendFailure(pending.request.streamId, acquireError));
        return;
      }
      await this.writeBatch(client, batch, leaveFront);
    } catch (error) {
      // Not expected (every failure is answered per request); never leave a caller waiting if it happens anyway.
      this.options.logger.error({ err: error }, 'event store flusher failed');
      for (const pending of batch) pending.reject(error instanceof Error ? error : new Error(String(error)));
    } finally {
      leaveFront();
    }
  }

  private takeBatch(): Pending[] {
    const batch: Pending[] = [];
    let events = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (batch.length > 0 && events + next.request.events.length > this.options.maxBatchEvents) break;
      batch.push(this.queue.shift()!);
      events += next.request.events.length;
    }
    return batch;
  }

  private async writeBatch(client: pg.PoolClient, batch: Pending[], leaveFront: () => void): Promise<void> {
    let outcomes: RequestOutcome[];
    try {
      outcomes = await writeBatch(
        client,
        batch.map((pending) => pending.request),
        { onCommitting: leaveFront, heads: this.heads },
      );
      client.release();
    } catch (error) {
      client.release(isConnectionError(error));
      leaveFront();
      const [only] = batch;
      if (batch.length === 1 && only) return this.retryAlone(only, 1, error);
      // Someone's request broke the whole transaction (a race with another process, a value the database refused,
      // a lost connection): one transaction per request finds the culprit and lets the others through.
      this.options.logger.warn({ err: error, requests: batch.length }, 'append batch failed, retrying one by one');
      for (const pending of batch) await this.writeAlone(pending, 1);
      return;
    }
    batch.forEach((pending, index) => settle(pending, outcomes[index]));
  }

  private async writeAlone(pending: Pending, attempt: number): Promise<void> {
    let outcome: RequestOutcome | undefined;
    try {
      [outcome] = await this.options.pool.withClient((client) =>
        writeBatch(client, [pending.request], { heads: this.heads }),
      );
    } catch (error) {
      return this.retryAlone(pending, attempt, error);
    }
    settle(pending, outcome);
  }

  /**
   * A lost race is decided again against the committed state; a lost connection (perhaps a stale pooled one) is tried
   * on a fresh one. Both are safe to repeat: if the first attempt did commit, the retry is an idempotent replay.
   */
  private async retryAlone(pending: Pending, failedAttempt: number, error: unknown): Promise<void> {
    const connection = isConnectionError(error);
    if (failedAttempt >= SOLO_ATTEMPTS || !(connection || isRetryableRace(error))) {
      pending.reject(appendFailure(pending.request.streamId, error));
      return;
    }
    if (connection) await sleep(CONNECTION_RETRY_DELAY_MS * failedAttempt);
    await this.writeAlone(pending, failedAttempt + 1);
  }
}

function settle(pending: Pending, outcome: RequestOutcome | undefined): void {
  if (!outcome) pending.reject(new Error(`No outcome for the append to ${pending.request.streamId}`));
  else if (outcome.ok) pending.resolve(outcome.result);
  else pending.reject(outcome.error);
}
