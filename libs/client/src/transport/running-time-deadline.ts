import { performance } from 'node:perf_hooks';
import { Observable } from 'rxjs';

/** How often the running time is advanced while a deadline is pending. */
const TICK_MS = 100;
/**
 * The most one tick counts. A tick that comes later than this found the process not running (a long garbage
 * collection, a starved CPU, a suspended machine): that time could not have been spent reading a reply, so a reply
 * deadline does not count it.
 */
const MAX_COUNTED_PER_TICK_MS = 2 * TICK_MS;

/** No reply within the request timeout, counted in time this process ran. */
export class ReplyDeadlinePassed extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no reply within ${timeoutMs} ms`);
    this.name = 'ReplyDeadlinePassed';
  }
}

interface Waiter {
  remainingMs: number;
  onPassed: () => void;
}

/**
 * One ticker for all pending deadlines of the process, running only while one is pending. A passed deadline is acted
 * on in the event loop's check phase (setImmediate), after its poll phase: a reply that arrived while the process was
 * not running is read first.
 */
class RunningTimeTicker {
  private readonly waiters = new Set<Waiter>();
  private timer: NodeJS.Timeout | undefined;
  private lastTickAt = 0;

  add(waiter: Waiter): () => void {
    if (this.waiters.size === 0) {
      this.lastTickAt = performance.now();
      this.timer = setInterval(() => this.tick(), TICK_MS);
    }
    this.waiters.add(waiter);
    return () => this.remove(waiter);
  }

  private remove(waiter: Waiter): void {
    if (!this.waiters.delete(waiter) || this.waiters.size > 0) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const now = performance.now();
    const counted = Math.min(now - this.lastTickAt, MAX_COUNTED_PER_TICK_MS);
    this.lastTickAt = now;
    for (const waiter of this.waiters) {
      waiter.remainingMs -= counted;
      if (waiter.remainingMs > 0) continue;
      this.remove(waiter);
      setImmediate(waiter.onPassed);
    }
  }
}

const ticker = new RunningTimeTicker();

/**
 * Fails with {@link ReplyDeadlinePassed} once this process has run `timeoutMs` without the source answering (any
 * notification of the source, given with `race`, ends it). Time the process did not run is not counted: a gateway
 * whose own machine is slow does not take a ledger that is up for one that is away.
 */
export function runningTimeDeadline(timeoutMs: number): Observable<never> {
  return new Observable<never>((subscriber) =>
    ticker.add({ remainingMs: timeoutMs, onPassed: () => subscriber.error(new ReplyDeadlinePassed(timeoutMs)) }),
  );
}
