export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/**
 * Runs the drain in the background until it reports the spool empty: first `initialMs` after being kicked, then
 * doubling up to `maxMs` while the ledger stays away. Its timer never keeps the process alive.
 */
export class DrainScheduler {
  private delayMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;

  constructor(
    private readonly drain: () => Promise<{ remaining: number }>,
    private readonly backoff: Backoff,
  ) {
    this.delayMs = backoff.initialMs;
  }

  /** Makes sure a drain is coming; does nothing if one is scheduled or running. */
  kick(): void {
    if (this.stopped || this.running || this.timer) return;
    this.timer = setTimeout(() => void this.fire(), this.delayMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async fire(): Promise<void> {
    this.timer = undefined;
    this.running = true;
    const remaining = await this.drain().then(
      (report) => report.remaining,
      () => Number.POSITIVE_INFINITY,
    );
    this.running = false;
    if (remaining === 0) {
      this.delayMs = this.backoff.initialMs;
      return;
    }
    this.delayMs = Math.min(this.delayMs * 2, this.backoff.maxMs);
    this.kick();
  }
}
