import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { Alert, AlertSink } from './alert-sink.port.js';

export interface AlertDispatcherOptions {
  /** Attempts per alert and retryable sink before the alert goes to the dead-letter file. */
  maxAttempts: number;
  /** First retry delay; it doubles each attempt (with up to 20 % jitter). */
  backoffMs: number;
  /** JSONL file of alerts no attempt could deliver (one `{ sink, alert, error, attempts, at }` a line). */
  deadLetterFile: string;
  /** An alert queued beyond this many per sink goes straight to the dead-letter file. */
  maxQueue?: number;
}

interface SinkLane {
  sink: AlertSink;
  queue: Alert[];
  /** Drains running on this lane: at most the sink's `maxConcurrentDeliveries`. */
  running: number;
}

/**
 * Fire and forget: `publish` queues the alert for every sink and returns at once, so delivery never blocks the
 * processor's appends. Each sink has its own lane (a slow webhook does not hold back the dashboard stream), with up to
 * the sink's `maxConcurrentDeliveries` alerts in delivery at once; each
 * attempt is logged; alerts that exhaust their attempts, or are still queued at shutdown, go to the dead-letter file.
 */
export class AlertDispatcher {
  private readonly lanes: SinkLane[];
  private closed = false;
  private readonly idleWaiters = new Set<() => void>();
  private delivered = 0;
  private deadLettered = 0;
  private retried = 0;

  constructor(
    sinks: readonly AlertSink[],
    private readonly options: AlertDispatcherOptions,
    private readonly logger: Logger,
  ) {
    this.lanes = sinks.map((sink) => ({ sink, queue: [], running: 0 }));
  }

  get sinkNames(): string[] {
    return this.lanes.map((lane) => lane.sink.name);
  }

  status() {
    return {
      sinks: this.sinkNames,
      queued: this.lanes.reduce((n, lane) => n + lane.queue.length, 0),
      delivered: this.delivered,
      deadLettered: this.deadLettered,
      retried: this.retried,
    };
  }

  publish(alert: Alert): void {
    if (this.closed) return;
    for (const lane of this.lanes) {
      if (lane.queue.length >= (this.options.maxQueue ?? 10_000)) {
        void this.deadLetter(lane.sink, alert, 'queue full', 0);
        continue;
      }
      lane.queue.push(alert);
      if (lane.running < Math.max(1, lane.sink.maxConcurrentDeliveries ?? 1)) void this.drain(lane);
    }
  }

  /** Resolves when every lane is empty (tests, shutdown). */
  async idle(): Promise<void> {
    if (this.lanes.every((lane) => lane.running === 0)) return;
    await new Promise<void>((resolve) => this.idleWaiters.add(resolve));
  }

  /** Delivers the lane's queue, one alert after another; a sink taking several at once has several drains. */
  private async drain(lane: SinkLane): Promise<void> {
    lane.running++;
    try {
      for (let alert = lane.queue.shift(); alert && !this.closed; alert = lane.queue.shift()) {
        await this.deliver(lane.sink, alert);
      }
    } finally {
      lane.running--;
      if (this.lanes.every((l) => l.running === 0)) {
        for (const resolve of this.idleWaiters) resolve();
        this.idleWaiters.clear();
      }
    }
  }

  private async deliver(sink: AlertSink, alert: Alert): Promise<void> {
    const attempts = sink.retryable ? this.options.maxAttempts : 1;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const started = Date.now();
      try {
        await sink.deliver(alert);
        this.delivered++;
        this.logger.info(
          { sink: sink.name, alertId: alert.alertId, attempt, ms: Date.now() - started, outcome: 'delivered' },
          'alert delivery attempt',
        );
        return;
      } catch (error) {
        const last = attempt === attempts || this.closed;
        this.logger.warn(
          { sink: sink.name, alertId: alert.alertId, attempt, ms: Date.now() - started, outcome: 'failed', err: error },
          'alert delivery attempt',
        );
        if (last) {
          if (sink.retryable) await this.deadLetter(sink, alert, String(error), attempt);
          return;
        }
        this.retried++;
        const delay = this.options.backoffMs * 2 ** (attempt - 1);
        await new Promise((resolve) => setTimeout(resolve, delay + Math.random() * delay * 0.2).unref());
      }
    }
  }

  private async deadLetter(sink: AlertSink, alert: Alert, error: string, attempts: number): Promise<void> {
    this.deadLettered++;
    const line = JSON.stringify({ sink: sink.name, alert, error, attempts, at: new Date().toISOString() });
    try {
      await mkdir(dirname(this.options.deadLetterFile), { recursive: true });
      await appendFile(this.options.deadLetterFile, `${line}\n`, 'utf8');
      this.logger.error(
        { sink: sink.name, alertId: alert.alertId, file: this.options.deadLetterFile },
        'alert dead-lettered',
      );
    } catch (writeError) {
      this.logger.error({ err: writeError, alert: line }, 'alert lost: the dead-letter file cannot be written');
    }
  }

  /** Stops delivering; what is still queued for a retryable sink is dead-lettered, then sinks are closed. */
  async close(): Promise<void> {
    this.closed = true;
    for (const lane of this.lanes) {
      const pending = lane.queue.splice(0);
      if (lane.sink.retryable) {
        for (const alert of pending) await this.deadLetter(lane.sink, alert, 'ledger stopped before delivery', 0);
      }
      await lane.sink.close?.();
    }
  }
}
