import { type ReadModelLogger, silentReadModelLogger } from '../read-model-logger.js';
import { trimReadModels, type TrimReport, type TrimReadModelsOptions } from './trim-read-models.js';

export interface ReadModelRetentionOptions extends Omit<
  TrimReadModelsOptions,
  'now' | 'cutoff' | 'waitForLock' | 'retentionDays'
> {
  /** Rows older than this many days are trimmed; 0: the job does not run. */
  retentionDays: number;
  /** Between the end of one run and the start of the next. */
  intervalMs: number;
  /** Before the first run after `start()`. Default the smaller of 30 s and `intervalMs`. */
  firstRunDelayMs?: number;
  logger?: ReadModelLogger;
  /** The clock, for tests. */
  now?: () => Date;
}

/** For `/health`: what this process's retention job last did. */
export interface RetentionStatus {
  enabled: boolean;
  retentionDays: number;
  /** When this process last trimmed (not when it found another process trimming). */
  lastRunAt: string | null;
  /** Rows deleted per table by that run. */
  trimmed: TrimReport['trimmed'] | null;
  /** Rows before this were trimmed by that run. */
  cutoff: string | null;
  /** Why the last attempt trimmed nothing (`locked`: another ledger trims), if it did not. */
  skipped?: string;
  lastError?: string;
}

/**
 * The scheduled retention of the read models: `trimReadModels` shortly after `start()`, then every `intervalMs`
 * (measured from the end of a run: runs never overlap in a process; across processes the advisory lock lets one
 * trim). A failed run is logged and retried at the next interval. `stop()` waits for a run in flight.
 */
export class ReadModelRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<TrimReport | undefined> | undefined;
  private stopped = false;
  private lastRun: TrimReport | undefined;
  private lastSkip: string | undefined;
  private lastError: string | undefined;
  private readonly logger: ReadModelLogger;

  constructor(private readonly options: ReadModelRetentionOptions) {
    this.logger = options.logger ?? silentReadModelLogger;
  }

  start(): void {
    if (this.options.retentionDays === 0) return;
    this.schedule(this.options.firstRunDelayMs ?? Math.min(30_000, this.options.intervalMs));
  }

  /** One run now (or the one in flight). */
  async runOnce(): Promise<TrimReport | undefined> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  status(): RetentionStatus {
    const ran = this.lastRun;
    return {
      enabled: this.options.retentionDays > 0,
      retentionDays: this.options.retentionDays,
      lastRunAt: ran?.finishedAt.toISOString() ?? null,
      trimmed: ran?.trimmed ?? null,
      cutoff: ran?.cutoff?.toISOString() ?? null,
      ...(this.lastSkip ? { skipped: this.lastSkip } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.runOnce().finally(() => this.schedule(this.options.intervalMs));
    }, delayMs);
    this.timer.unref();
  }

  private async run(): Promise<TrimReport | undefined> {
    const { intervalMs: _interval, firstRunDelayMs: _first, logger: _logger, now, ...trim } = this.options;
    try {
      const report = await trimReadModels({ ...trim, ...(now ? { now: now() } : {}) });
      if (report.ran) this.lastRun = report;
      this.lastSkip = report.skipped;
      this.lastError = undefined;
      if (report.ran) {
        this.logger.info(
          { cutoff: report.cutoff?.toISOString(), trimmed: report.trimmed, ms: +report.finishedAt - +report.startedAt },
          'read-model retention: trimmed rows older than the window',
        );
      }
      return report;
    } catch (error) {
      this.lastError = (error as Error).message;
      this.logger.warn({ err: error }, 'read-model retention failed; retrying at the next interval');
      return undefined;
    }
  }
}
