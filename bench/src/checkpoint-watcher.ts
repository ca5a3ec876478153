import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

/** The projections whose lag is reported: `executions` holds the rows the lag is about. */
export const WATCHED_PROJECTIONS = ['executions', 'approvals', 'reconciliation'] as const;
export type WatchedProjection = (typeof WATCHED_PROJECTIONS)[number];

interface Waiting {
  position: bigint;
  ackedAt: number;
}

/**
 * Measures, per acknowledged append, how long after the acknowledgement each projection had committed it: polls
 * `read_models.projection_checkpoints` on a dedicated connection every `pollMs`. A projection commits its rows and its
 * checkpoint in one transaction, so checkpoint ≥ the ack's global position means the row is visible. The time taken
 * is when the poll's answer arrives, an upper bound (resolution: one poll interval plus one round trip); an append
 * already visible at its acknowledgement counts 0.
 */
export class CheckpointWatcher {
  private readonly client: pg.Client;
  private readonly seen = new Map<WatchedProjection, bigint>();
  private readonly waiting = new Map<WatchedProjection, Waiting[]>();
  private readonly lags = new Map<WatchedProjection, number[]>();
  private running?: Promise<void>;
  private stopped = false;
  polls = 0;

  constructor(
    databaseUrl: string,
    private readonly pollMs = 1,
  ) {
    this.client = new pg.Client({ connectionString: databaseUrl, application_name: 'bench-checkpoint-watcher' });
    for (const name of WATCHED_PROJECTIONS) {
      this.seen.set(name, 0n);
      this.waiting.set(name, []);
      this.lags.set(name, []);
    }
  }

  async start(): Promise<void> {
    await this.client.connect();
    await this.poll();
    this.running = this.loop();
  }

  /** Call when an append is acknowledged at `ackedAt` (performance.now()). */
  acked(position: bigint, ackedAt: number): void {
    for (const name of WATCHED_PROJECTIONS) {
      if (this.seen.get(name)! >= position) this.lags.get(name)!.push(0);
      else this.waiting.get(name)!.push({ position, ackedAt });
    }
  }

  /** Drops what was measured so far (after a warm-up). */
  reset(): void {
    for (const name of WATCHED_PROJECTIONS) {
      this.waiting.set(name, []);
      this.lags.set(name, []);
    }
  }

  /**
   * Lags in ms per projection, and how many acknowledged appends it had not reached yet; those count with the time
   * since their acknowledgement, a lower bound of their lag.
   */
  results(): Record<WatchedProjection, { lags: number[]; unreached: number }> {
    const now = performance.now();
    return Object.fromEntries(
      WATCHED_PROJECTIONS.map((name) => {
        const waiting = this.waiting.get(name)!;
        const lags = [...this.lags.get(name)!, ...waiting.map((w) => now - w.ackedAt)];
        return [name, { lags, unreached: waiting.length }];
      }),
    ) as Record<WatchedProjection, { lags: number[]; unreached: number }>;
  }

  /** Waits until every projection has reached every acknowledged append, or `timeoutMs`; returns the ms it took. */
  async drained(timeoutMs: number): Promise<number> {
    const start = performance.now();
    while (performance.now() - start < timeoutMs) {
      if (WATCHED_PROJECTIONS.every((name) => this.waiting.get(name)!.length === 0)) break;
      await sleep(5);
    }
    return performance.now() - start;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
    await this.client.end();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      await this.poll();
      await sleep(this.pollMs);
    }
  }

  private async poll(): Promise<void> {
    const { rows } = await this.client.query<{ name: string; position: string }>(
      'SELECT name, position FROM read_models.projection_checkpoints',
    );
    const at = performance.now();
    this.polls += 1;
    for (const row of rows) {
      const name = row.name as WatchedProjection;
      const waiting = this.waiting.get(name);
      if (!waiting) continue;
      const position = BigInt(row.position);
      this.seen.set(name, position);
      if (waiting.length === 0) continue;
      const lags = this.lags.get(name)!;
      const still = waiting.filter((w) => {
        if (w.position > position) return true;
        lags.push(at - w.ackedAt);
        return false;
      });
      this.waiting.set(name, still);
    }
  }
}
