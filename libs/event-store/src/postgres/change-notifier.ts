import pg from 'pg';
import { EVENTS_CHANNEL, WRITER_ROLE } from './ledger-schema.js';
import { type EventStoreLogger } from './logger.js';

/** Called with the last position of a committed insert, or `undefined` when notifications may have been missed. */
export type ChangeListener = (position: bigint | undefined) => void;

export interface ChangeNotifierOptions {
  connectionString: string;
  logger: EventStoreLogger;
  /** First delay before reconnecting a lost LISTEN connection; doubles up to 5 s. */
  reconnectDelayMs?: number;
}

const MAX_RECONNECT_DELAY_MS = 5000;

/**
 * One LISTEN connection shared by all subscriptions of a store: opened with the first listener, closed with the last,
 * reconnected (with backoff) when lost. Notifications only wake readers up; the subscriptions' fallback poll covers
 * any that are lost, so nothing here is needed for correctness.
 */
export class ChangeNotifier {
  private readonly listeners = new Set<ChangeListener>();
  private client?: pg.Client;
  private starting?: Promise<void>;
  private retryTimer?: NodeJS.Timeout;
  private retryDelay: number;
  private stopped = true;

  constructor(private readonly options: ChangeNotifierOptions) {
    this.retryDelay = options.reconnectDelayMs ?? 100;
  }

  get listening(): boolean {
    return this.client !== undefined;
  }

  /** Registers a listener; the returned function unregisters it (and closes the connection after the last one). */
  listen(listener: ChangeListener): () => Promise<void> {
    this.listeners.add(listener);
    if (this.stopped) {
      this.stopped = false;
      void this.start();
    }
    return async () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) await this.stop();
    };
  }

  private async start(): Promise<void> {
    if (this.stopped || this.client || this.starting) return;
    this.starting = this.connect().finally(() => {
      this.starting = undefined;
    });
    await this.starting;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      application_name: 'audit-ledger-listener',
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    client.on('notification', (message) => {
      if (message.channel !== EVENTS_CHANNEL) return;
      const payload = message.payload ?? '';
      this.emit(/^\d+$/.test(payload) ? BigInt(payload) : undefined);
    });
    try {
      await client.connect();
      await client.query(`SET ROLE ${WRITER_ROLE}`);
      await client.query(`LISTEN ${EVENTS_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      this.options.logger.warn({ err: error }, 'event store LISTEN connection failed, retrying');
      this.scheduleRetry();
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.retryDelay = this.options.reconnectDelayMs ?? 100;
    // Whatever was committed while no connection listened is found by the readers' next read.
    this.emit(undefined);
  }

  private lost(client: pg.Client, error?: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.options.logger.warn({ err: error }, 'event store LISTEN connection lost, reconnecting');
    void client.end().catch(() => undefined);
    this.emit(undefined);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.start();
    }, this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, MAX_RECONNECT_DELAY_MS);
  }

  private async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.starting;
    if (!this.stopped) return; // a new listener arrived meanwhile and keeps the connection
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private emit(position: bigint | undefined): void {
    for (const listener of this.listeners) listener(position);
  }
}
