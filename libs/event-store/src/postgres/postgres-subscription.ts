import { type ReadAllFilter, type RecordedEvent, type Subscription } from '../event-store.port.js';
import { type AllStreamReader, type ReadAllPage } from './all-stream-reader.js';
import { type ChangeNotifier } from './change-notifier.js';
import { GapTracker } from './gap-free-reader.js';
import { type LiveFeed } from './live-feed.js';
import { type EventStoreLogger } from './logger.js';

export interface PostgresSubscriptionOptions {
  reader: AllStreamReader;
  notifier: ChangeNotifier;
  /**
   * The store's shared reader near the head: a page is taken from it when this subscription's cursor lies in its
   * window, else read by the subscription itself (catching up). Absent: every page is read by the subscription.
   */
  feed?: LiveFeed;
  fromPosition: bigint;
  filter?: ReadAllFilter;
  /** Events read per page: the most a subscription holds in memory. */
  pageSize: number;
  /** Re-read at least this often when idle, in case a notification was lost. */
  pollIntervalMs: number;
  /**
   * After a read that caught up, the next one waits until this long after it: under a steady stream of commits each
   * read then takes what several notifications announced (fewer queries, larger batches downstream) for at most this
   * much latency. Catch-up reads (more pages waiting) are not delayed.
   */
  minReadIntervalMs: number;
  logger: EventStoreLogger;
  onClosed(subscription: PostgresSubscription): void;
}

const FIRST_HOLE_RETRY_MS = 5;
const MAX_FAILURE_BACKOFF_MS = 5000;

/**
 * Catch-up then live, in one loop: read a page after the cursor (near the head, from the store's shared `LiveFeed`);
 * when nothing is left, wait for a notification or the poll timer. A page is read only when the consumer has taken the previous one (backpressure), and only positions the
 * gap-free reader proves safe are delivered. Reads go through the pool, so a lost connection is replaced on the next
 * read; read failures are retried with backoff while `isAlive` reports false.
 */
export class PostgresSubscription implements Subscription, AsyncIterator<RecordedEvent> {
  private cursor: bigint;
  private delivered: bigint;
  private buffer: RecordedEvent[] = [];
  private readonly tracker = new GapTracker();
  private closed = false;
  private failures = 0;
  private blockedReads = 0;
  private signalled = false;
  /** performance.now() before which the next read waits (minReadIntervalMs after a read that caught up). */
  private nextReadAt = 0;
  private wake?: () => void;
  /** Whether a notification ends the current sleep (not the wait between reads: minReadIntervalMs). */
  private wakeOnChange = true;
  private pulling: Promise<unknown> = Promise.resolve();
  private closing?: Promise<void>;
  private readonly stopListening: () => Promise<void>;

  constructor(private readonly options: PostgresSubscriptionOptions) {
    this.cursor = options.fromPosition;
    this.delivered = options.fromPosition;
    this.stopListening = options.notifier.listen((position) => this.onChange(position));
  }

  get position(): bigint {
    return this.delivered;
  }

  get isAlive(): boolean {
    return !this.closed && this.failures === 0;
  }

  [Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    return this;
  }

  next(): Promise<IteratorResult<RecordedEvent>> {
    const result = this.pulling.then(() => this.pull());
    this.pulling = result.catch(() => undefined);
    return result;
  }

  async return(): Promise<IteratorResult<RecordedEvent>> {
    await this.close();
    return { done: true, value: undefined };
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    this.buffer = [];
    this.wake?.();
    await this.pulling; // a read in flight finishes before the store may end its pool
    await this.stopListening();
    this.options.onClosed(this);
  }

  private async pull(): Promise<IteratorResult<RecordedEvent>> {
    while (!this.closed) {
      const event = this.buffer.shift();
      if (event) {
        this.delivered = event.globalPosition;
        return { done: false, value: event };
      }
      await this.fill();
    }
    return { done: true, value: undefined };
  }

  private async fill(): Promise<void> {
    const wait = this.nextReadAt - performance.now();
    if (wait > 0) await this.sleep(wait, true);
    if (this.closed) return;
    this.signalled = false;
    let page: ReadAllPage;
    try {
      page =
        (await this.options.feed?.pageAfter(this.cursor, this.options.filter, this.options.pageSize)) ??
        (await this.options.reader.readPage(
          this.cursor,
          { filter: this.options.filter, maxEvents: this.options.pageSize },
          this.tracker,
        ));
    } catch (error) {
      this.failures += 1;
      if (this.failures === 1) this.options.logger.warn({ err: error }, 'subscription read failed, retrying');
      await this.sleep(Math.min(50 * 2 ** this.failures, MAX_FAILURE_BACKOFF_MS));
      return;
    }
    this.failures = 0;
    if (this.closed) return;
    this.buffer = page.events;
    this.cursor = page.cursor;
    this.nextReadAt = page.more ? 0 : performance.now() + this.options.minReadIntervalMs;
    this.blockedReads = page.blocked ? this.blockedReads + 1 : 0;
    if (page.events.length > 0 || page.more || this.signalled) return;
    // A hole in flight fills when its writer commits, which notifies; a permanent one needs a few re-reads to prove.
    const delay = page.blocked
      ? Math.min(FIRST_HOLE_RETRY_MS * 2 ** this.blockedReads, this.options.pollIntervalMs)
      : this.options.pollIntervalMs;
    await this.sleep(delay);
  }

  private onChange(position: bigint | undefined): void {
    this.options.feed?.changed();
    if (position !== undefined && position <= this.cursor) return;
    this.signalled = true;
    if (this.wakeOnChange) this.wake?.();
  }

  /** Waits `ms`; close() ends it early, and so does a notification unless `ignoreChanges`. */
  private sleep(ms: number, ignoreChanges = false): Promise<void> {
    if (this.closed || (this.signalled && !ignoreChanges)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
      this.wakeOnChange = !ignoreChanges;
    });
  }
}
