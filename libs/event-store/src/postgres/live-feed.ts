import { type ReadAllFilter, type RecordedEvent } from '../event-store.port.js';
import { type AllStreamReader, type ReadAllPage } from './all-stream-reader.js';
import { GapTracker } from './gap-free-reader.js';

export interface LiveFeedOptions {
  reader: AllStreamReader;
  /** Events per shared read. */
  pageSize: number;
  /** Events kept after they were read, for subscriptions a little behind the head. */
  retainEvents: number;
  /**
   * With no notification since the last read, a subscription at the head re-reads only after this long (a lost
   * notification is then found as before: by the subscriptions' own poll).
   */
  pollIntervalMs: number;
  /**
   * Under a steady stream of commits a read waits until this long after the previous one started (notifications in
   * between gathered into it), aiming at `targetEvents` events per read: the faster events come, the shorter the
   * wait, between `minIntervalMs` and `maxIntervalMs`. Catch-up reads (more pages waiting), re-reads at a hole and reads
   * for a subscription ahead of the feed do not wait.
   */
  minIntervalMs: number;
  maxIntervalMs: number;
  targetEvents: number;
}

/**
 * The one reader of the global log that the live subscriptions of a store share: each event near the head is read
 * and parsed once per process, however many subscriptions follow it, and one notification causes one read, not one
 * per subscription; under a steady stream of commits, one read per interval (see `LiveFeedOptions.minIntervalMs`).
 *
 * It holds every event of the positions (`from`, `cursor`] (the last `retainEvents` it read; positions in between that
 * hold no event are proven holes: the same gap-free prefix a subscription's own read delivers, see gap-free-reader.ts).
 * A subscription whose cursor lies in that window takes its page from here, filtered in memory; at `cursor` it makes
 * the feed read on (one read however many wait); elsewhere (behind the window: catching up) it reads by itself, as
 * before. A subscription ahead of the feed moves the feed to it once a read shows the feed is far behind. The events
 * handed out are shared between subscriptions: consumers must not change them (none does; they are read-only by the
 * port's contract).
 */
export class LiveFeed {
  private readonly tracker = new GapTracker();
  /** Events in (from, cursor], ascending. */
  private events: RecordedEvent[] = [];
  private from?: bigint;
  private cursor = 0n;
  private reading?: Promise<void>;
  /** Notifications seen, and how many had been seen when the last read started. */
  private changes = 0;
  private changesAtRead = -1;
  private lastReadAt = -Infinity;
  private lastBlocked = false;
  private lastMore = false;
  /** Events per millisecond over the last reads (moving average), for the read interval. */
  private rate = 0;
  private readCount = 0;

  constructor(private readonly options: LiveFeedOptions) {}

  /** Reads made: what following the head costs in round trips. */
  get reads(): number {
    return this.readCount;
  }

  /** A commit was notified (or notifications may have been lost): the next request at the head reads. */
  changed(): void {
    this.changes += 1;
  }

  /**
   * A page of events after `after` that match `filter`, at most `maxEvents`; undefined when `after` lies outside the
   * feed's window (the caller reads by itself). Throws what the shared read throws.
   */
  async pageAfter(
    after: bigint,
    filter: ReadAllFilter | undefined,
    maxEvents: number,
  ): Promise<ReadAllPage | undefined> {
    if (this.from === undefined) {
      this.from = after;
      this.cursor = after;
    }
    if (after > this.cursor) {
      // Ahead of the feed: read on; if the feed is still behind, it was not following the head: move it here.
      await this.readOn(true);
      if (after > this.cursor) {
        if (this.reading) return undefined;
        this.reset(after);
      }
    }
    if (after < this.from) return undefined;
    if (after === this.cursor) {
      await this.readOn(false);
      if (after < this.from) return undefined; // overtaken while reading (retention): read by itself
    }
    return this.serve(after, filter, maxEvents);
  }

  /**
   * A page of what the feed already holds after `after` (no read), when `after` lies in its window before its end:
   * what a read would give there (the window is a gap-free prefix), so `readAll` near the head takes the events the
   * subscriptions were handed instead of reading and parsing them again (the checkpoint sealer, once a second).
   * Undefined elsewhere: the caller reads.
   */
  heldAfter(after: bigint, filter: ReadAllFilter | undefined, maxEvents: number): ReadAllPage | undefined {
    if (this.from === undefined || after < this.from || after >= this.cursor) return undefined;
    return this.serve(after, filter, maxEvents);
  }

  private serve(after: bigint, filter: ReadAllFilter | undefined, maxEvents: number): ReadAllPage {
    const events: RecordedEvent[] = [];
    for (let i = firstAfter(this.events, after); i < this.events.length; i++) {
      const event = this.events[i]!;
      if (!eventMatches(filter, event)) continue;
      if (events.length === maxEvents) {
        return { events, cursor: events[events.length - 1]!.globalPosition, blocked: false, more: true };
      }
      events.push(event);
    }
    if (this.cursor === after) return { events, cursor: after, blocked: this.lastBlocked, more: false };
    return { events, cursor: this.cursor, blocked: false, more: this.lastMore };
  }

  /**
   * Reads the next page into the window, or waits for the read in flight; `force` reads even with nothing notified,
   * and at once. A read for notified commits waits until the read interval since the last read has passed: every
   * subscription asking meanwhile shares it, and it takes the commits of the whole interval (larger batches for the
   * workers downstream, one feed read, projection transaction and verdict commit per interval instead of per commit).
   */
  private async readOn(force: boolean): Promise<void> {
    if (this.reading) return this.reading;
    const urgent = force || this.lastMore || this.lastBlocked;
    const due =
      urgent ||
      this.changes !== this.changesAtRead ||
      performance.now() - this.lastReadAt >= this.options.pollIntervalMs;
    if (!due) return;
    const wait = urgent ? 0 : this.lastReadAt + this.readIntervalMs() - performance.now();
    const read = wait > 0 ? delay(wait).then(() => this.read()) : this.read();
    this.reading = read.finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  /** How long after a read the next one waits: about `targetEvents` at the recent rate, within the bounds. */
  private readIntervalMs(): number {
    const { minIntervalMs, maxIntervalMs, targetEvents } = this.options;
    const wanted = this.rate > 0 ? targetEvents / this.rate : maxIntervalMs;
    return Math.min(Math.max(wanted, minIntervalMs), Math.max(maxIntervalMs, minIntervalMs));
  }

  private async read(): Promise<void> {
    this.changesAtRead = this.changes;
    const startedAt = performance.now();
    const sincePrevious = startedAt - this.lastReadAt;
    this.lastReadAt = startedAt;
    this.readCount += 1;
    const after = this.cursor;
    const page = await this.options.reader.readPage(after, { maxEvents: this.options.pageSize }, this.tracker);
    if (this.cursor !== after) return; // reset meanwhile
    if (Number.isFinite(sincePrevious)) {
      this.rate = (this.rate + page.events.length / Math.max(sincePrevious, 1)) / 2;
    }
    this.events.push(...page.events);
    this.cursor = page.cursor;
    this.lastBlocked = page.blocked;
    this.lastMore = page.more;
    const excess = this.events.length - this.options.retainEvents;
    if (excess > 0) {
      this.from = this.events[excess - 1]!.globalPosition;
      this.events = this.events.slice(excess);
    }
  }

  private reset(position: bigint): void {
    this.events = [];
    this.from = position;
    this.cursor = position;
    this.lastBlocked = false;
    this.lastMore = false;
  }
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Index of the first event with a position above `after` (binary search; `events` ascend). */
function firstAfter(events: readonly RecordedEvent[], after: bigint): number {
  let low = 0;
  let high = events.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (events[mid]!.globalPosition <= after) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** The read's filter in memory, exactly as the SQL applies it (an empty list filters nothing). */
function eventMatches(filter: ReadAllFilter | undefined, event: RecordedEvent): boolean {
  const types = filter?.eventTypes;
  if (types && types.length > 0 && !types.includes(event.type)) return false;
  const prefixes = filter?.streamPrefixes;
  if (prefixes && prefixes.length > 0 && !prefixes.some((prefix) => event.streamId.startsWith(prefix))) return false;
  return true;
}
