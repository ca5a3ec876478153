import {
  apiKeyPrincipalId,
  isRole,
  parsePrincipalsEvent,
  PRINCIPALS_STREAM,
  type PrincipalsStreamEvent,
  type Role,
} from '@audit-ledger/domain';
import {
  readStreamOrEmpty,
  type EventStore,
  type RecordedEvent,
  type Subscription,
  type EventStoreLogger,
} from '@audit-ledger/event-store';

/** What the authenticator needs of a key: never the key itself. */
export interface ApiKeyEntry {
  keyId: string;
  name: string;
  principalId: string;
  roles: readonly Role[];
  keyHash: string;
  revokedAt?: string;
}

/** Stored event and where it is: local appends and the subscription may deliver the same event twice. */
type Located = Pick<RecordedEvent, 'globalPosition' | 'type' | 'data'>;

const MAX_BACKOFF_MS = 5_000;
/**
 * The subscription reads at most this often while live. It wants only the `principals` stream, yet every commit
 * notifies it: reading after each one cost the command path a query per logged execution (issue 14). A change made
 * by another instance still arrives within this plus a notification, well inside the one second promised below.
 */
const FOLLOW_READ_INTERVAL_MS = 250;

/**
 * The key table of one ledger process: a projection of the `principals` stream, kept in memory. Built from the stream
 * at start (before any transport listens), then kept current by a subscription to the store: an event appended by any
 * ledger instance on the same database arrives through the store's notification within milliseconds, or its fallback
 * poll (500 ms) when a notification is lost. So a key revoked anywhere is refused everywhere within one second.
 *
 * Applying is order-independent (issued and revoked are kept apart), because a process's own appends are applied
 * at once (so its own admin sees the change immediately) and arrive again, perhaps after older events, by the
 * subscription.
 */
export class ApiKeyTable {
  private readonly issued = new Map<string, Omit<ApiKeyEntry, 'revokedAt'>>();
  private readonly revoked = new Map<string, string>();
  private subscription?: Subscription;
  private following?: Promise<void>;
  private stopped = false;
  private wake?: () => void;
  /**
   * Where the subscription resumes: the last event read from the store in order (at start, or delivered by the
   * subscription). A local append does not move it: events of other instances before it may still be on their way.
   */
  private position = 0n;
  private lastError?: string;

  private constructor(
    private readonly store: EventStore,
    private readonly logger: EventStoreLogger,
  ) {}

  /** Reads the whole `principals` stream, then follows the store until `close()`. */
  static async start(store: EventStore, logger: EventStoreLogger): Promise<ApiKeyTable> {
    const table = new ApiKeyTable(store, logger);
    await table.load();
    table.following = table.follow();
    return table;
  }

  lookup(keyId: string): ApiKeyEntry | undefined {
    const entry = this.issued.get(keyId);
    if (!entry) return undefined;
    const revokedAt = this.revoked.get(keyId);
    return revokedAt === undefined ? entry : { ...entry, revokedAt };
  }

  /** Every key known, revoked ones included. */
  entries(): ApiKeyEntry[] {
    return [...this.issued.keys()].map((keyId) => this.lookup(keyId)!);
  }

  /** Whether the table is following the store (false after a read failure until it resubscribes). */
  status(): { following: boolean; position: string; keys: number; error?: string } {
    return {
      following: !this.stopped && Boolean(this.subscription?.isAlive) && this.lastError === undefined,
      position: this.position.toString(),
      keys: this.issued.size,
      ...(this.lastError ? { error: this.lastError } : {}),
    };
  }

  /** Applies events this process appended (the subscription delivers them again; applying twice changes nothing). */
  applyRecorded(events: readonly Located[]): void {
    for (const event of events) this.apply(event);
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.subscription?.close();
    await this.following;
  }

  /**
   * Reads the whole `principals` stream again and applies it, without waiting for the subscription: for a process
   * that must know keys another instance has just appended before it serves (the first start's race).
   */
  async catchUp(): Promise<void> {
    this.applyRecorded(await this.readPrincipals());
  }

  private async load(): Promise<void> {
    const events = await this.readPrincipals();
    this.applyRecorded(events);
    this.position = events.at(-1)?.globalPosition ?? 0n;
  }

  private readPrincipals(): Promise<RecordedEvent[]> {
    return readStreamOrEmpty(this.store, PRINCIPALS_STREAM);
  }

  private async follow(): Promise<void> {
    let backoff = 100;
    while (!this.stopped) {
      try {
        const subscription = this.store.subscribeToAll({
          fromPosition: this.position,
          filter: { streamPrefixes: [PRINCIPALS_STREAM] },
          minReadIntervalMs: FOLLOW_READ_INTERVAL_MS,
        });
        this.subscription = subscription;
        if (this.stopped) await subscription.close();
        for await (const event of subscription) {
          if (event.streamId === PRINCIPALS_STREAM) this.apply(event);
          this.position = event.globalPosition;
          this.lastError = undefined;
          backoff = 100;
        }
      } catch (error) {
        if (this.stopped) break;
        this.lastError = String(error);
        this.logger.error({ err: error }, 'API key table: following the principals stream failed, resubscribing');
        await this.subscription?.close().catch(() => undefined);
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, backoff).unref();
        });
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }

  private apply(located: Located): void {
    let event: PrincipalsStreamEvent | undefined;
    try {
      event = parsePrincipalsEvent(located.type, located.data);
    } catch (error) {
      // A stored event this version cannot read grants nothing; say so rather than stop following.
      this.logger.warn({ err: error, position: located.globalPosition.toString() }, 'unreadable principals event');
      return;
    }
    if (!event) return;
    if (event.type === 'ApiKeyRevoked') {
      if (!this.revoked.has(event.data.keyId)) this.revoked.set(event.data.keyId, event.data.revokedAt);
      return;
    }
    const { keyId, name, roles, keyHash } = event.data;
    if (this.issued.has(keyId)) return;
    this.issued.set(keyId, {
      keyId,
      name,
      principalId: apiKeyPrincipalId(name, keyId),
      roles: roles.filter(isRole),
      keyHash,
    });
  }
}
