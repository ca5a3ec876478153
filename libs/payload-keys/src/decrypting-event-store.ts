import type {
  AppendOptions,
  AppendResult,
  EventStore,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeToAllOptions,
  Subscription,
} from '@audit-ledger/event-store';
import type { PayloadCipher } from './payload-cipher.js';

/**
 * The event store as readers of content see it: sealed fields opened (or `[erased]`); what it appends is sealed
 * (the reconciler's verdicts quoting a sealed command). For the reconciler and the projections. Never for what hashes events (verification, checkpoints, evidence bundles): they read the store as
 * stored, since the hashes cover the ciphertext.
 */
export class DecryptingEventStore implements EventStore {
  constructor(
    private readonly inner: EventStore,
    private readonly cipher: PayloadCipher,
  ) {}

  async appendToStream(streamId: string, events: NewEvent[], options?: AppendOptions): Promise<AppendResult> {
    return this.inner.appendToStream(streamId, await this.cipher.sealEvents(streamId, events), options);
  }

  async readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    return this.cipher.openEvents(await this.inner.readStream(streamId, options));
  }

  async readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    return this.cipher.openEvents(await this.inner.readAll(options));
  }

  subscribeToAll(options?: SubscribeToAllOptions): Subscription {
    const inner = this.inner.subscribeToAll(options);
    const cipher = this.cipher;
    return {
      get position() {
        return inner.position;
      },
      get isAlive() {
        return inner.isAlive;
      },
      close: () => inner.close(),
      async *[Symbol.asyncIterator]() {
        for await (const event of inner) {
          // Most events need no key read (no sealed field, or keys trusted here): opened without a wait of their own.
          yield cipher.openTrusted(event) ?? (await cipher.openEvents([event]))[0]!;
        }
      },
    };
  }

  streamExists(streamId: string): Promise<boolean> {
    return this.inner.streamExists(streamId);
  }

  async headPosition(): Promise<bigint> {
    if (!this.inner.headPosition) throw new Error('the store behind does not tell its head position');
    return this.inner.headPosition();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
