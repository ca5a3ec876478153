import { type EventStore, type RecordedEvent, type Subscription } from '@audit-ledger/event-store';
import type { Logger } from 'pino';

/**
 * A live subscription to the whole store that only follows the head: `/health` reports whether it is alive and
 * where it stands, which proves the catch-up + live path works end to end in the running process.
 */
export class StoreMonitor {
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
    const subscription = this.store.subscribeToAll({});
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
}
