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
 * A live subscription to the store from its head at the start: `/health` reports whether it is alive and where it
 * stands, which proves the live path works end to end in the running process. It scans every position (the gap-free
 * reader checks each) but takes only {@link MONITORED_EVENT_TYPES}. Its position is that of the last such event seen
 * (the head at the start until one is).
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

  async start(): Promise<void> {
    // From the head: the metrics count what is recorded from now on, and reading the whole history at each start
    // only to skip it cost a read of every event (issue 14). A store that cannot tell its head is followed from 0.
    const head = await this.store.headPosition?.().catch((error: unknown) => {
      this.logger.warn({ err: error }, 'store monitor: head position not read, following the store from its start');
      return undefined;
    });
    const subscription = this.store.subscribeToAll({
      ...(head !== undefined ? { fromPosition: head } : {}),
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

  onApplicationBootstrap(): Promise<void> {
    return this.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.stop();
  }
}
