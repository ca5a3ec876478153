import { type EventStore, type RecordedEvent, type Subscription } from '@audit-ledger/event-store';
import type { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';

/**
 * While live, the monitor reads at most once a second: it needs no event soon, and reading after every commit cost
 * the command path a query per logged execution (issue 14).
 */
const MONITOR_READ_INTERVAL_MS = 1000;

/**
 * The events the metrics count (verdicts, their latency from the execution, checkpoint seals); the monitor takes no
 * other: reading every event's payload back, to drop it, cost each command a row to fetch and parse (issue 14).
 */
const MONITORED_EVENT_TYPES = [
  'ExecutionLogged',
  'ExecutionReconciled',
  'MismatchDetected',
  'ReconciliationUnclear',
  'CheckpointSealed',
];

/**
 * A live subscription to the store: `/health` reports whether it is alive and where it stands, which proves the
 * catch-up + live path works end to end in the running process. It scans every position (the gap-free reader checks
 * each) but takes only {@link MONITORED_EVENT_TYPES}. Its position is that of the last such event seen.
 */
export class StoreMonitor implements OnApplicationBootstrap, OnApplicationShutdown {
  private subscription?: Subscription;
  private running?: Promise<void>;
  private failure?: string;

  constructor(
    private readonly store: EventStore,
    private readonly logger: Logger,
    /** Sees every event as it is committed (the metrics count verdicts and seals from here). */
    private readonly onEvent: (event: RecordedEvent) => void = () => undefined,
  ) {}

  start(): void {
    const subscription = this.store.subscribeToAll({
      filter: { eventTypes: MONITORED_EVENT_TYPES },
      minReadIntervalMs: MONITOR_READ_INTERVAL_MS,
    });
    this.subscription = subscription;
    this.running = (async () => {
      try {
        for await (const event of subscription) this.onEvent(event);
      } catch (error) {
        this.failure = String(error);
        this.logger.error({ err: error }, 'store monitor subscription failed');
      }
    })();
  }

  /** The last global position the live subscription delivered: the store's head as this process knows it. */
  get head(): bigint {
    return this.subscription?.position ?? 0n;
  }

  status(): { alive: boolean; position: string; error?: string } {
    return {
      alive: Boolean(this.subscription?.isAlive) && !this.failure,
      position: (this.subscription?.position ?? 0n).toString(),
      ...(this.failure ? { error: this.failure } : {}),
    };
  }

  async stop(): Promise<void> {
    await this.subscription?.close();
    await this.running;
  }

  onApplicationBootstrap(): void {
    this.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.stop();
  }
}
