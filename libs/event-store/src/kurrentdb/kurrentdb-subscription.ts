import { type AllStreamResolvedEvent, type AllStreamSubscription } from '@kurrent/kurrentdb-client';
import { EventStoreUnavailableError } from '../errors.js';
import { type RecordedEvent, type Subscription } from '../event-store.port.js';
import { fromResolved } from './kurrentdb-event-codec.js';
import { toStoreError } from './kurrentdb-errors.js';

export interface KurrentDbSubscriptionOptions {
  /** Opens a KurrentDB catch-up subscription to $all that starts strictly after `position` (0n: from the start). */
  open(position: bigint): AllStreamSubscription;
  fromPosition: bigint;
  accepts(streamId: string, type: string): boolean;
  onClosed(subscription: KurrentDbSubscription): void;
}

const MAX_FAILURE_BACKOFF_MS = 5000;

/**
 * Wraps a KurrentDB catch-up subscription (which goes live by itself) as the port's pull-based iterator. Events are
 * taken from the client's stream only when the consumer asks (the stream stays paused, so backpressure reaches the
 * server). When KurrentDB becomes unreachable or drops the subscription, it is reopened after the last delivered
 * position with backoff, while `isAlive` reports false; other errors end the iteration with the error.
 */
export class KurrentDbSubscription implements Subscription, AsyncIterator<RecordedEvent> {
  #delivered: bigint;
  #source: AllStreamSubscription;
  #sourceFailure?: Error;
  #sourceEnded = false;
  #failures = 0;
  #closed = false;
  #wake?: () => void;
  #pulling: Promise<unknown> = Promise.resolve();
  #closing?: Promise<void>;

  constructor(private readonly options: KurrentDbSubscriptionOptions) {
    this.#delivered = options.fromPosition;
    this.#source = this.#openSource();
  }

  get position(): bigint {
    return this.#delivered;
  }

  get isAlive(): boolean {
    return !this.#closed && this.#failures === 0;
  }

  [Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    return this;
  }

  next(): Promise<IteratorResult<RecordedEvent>> {
    const result = this.#pulling.then(() => this.#pull());
    this.#pulling = result.catch(() => undefined);
    return result;
  }

  async return(): Promise<IteratorResult<RecordedEvent>> {
    await this.close();
    return { done: true, value: undefined };
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    this.#wake?.();
    await this.#pulling;
    await this.#disposeSource();
    this.options.onClosed(this);
  }

  async #pull(): Promise<IteratorResult<RecordedEvent>> {
    while (!this.#closed) {
      const resolved: AllStreamResolvedEvent | null = this.#source.read();
      if (resolved !== null) {
        const event = this.#accept(resolved);
        if (event) return { done: false, value: event };
        continue;
      }
      if (this.#sourceFailure || this.#sourceEnded) {
        await this.#recover();
        continue;
      }
      await this.#sleep();
    }
    return { done: true, value: undefined };
  }

  #accept(resolved: AllStreamResolvedEvent): RecordedEvent | undefined {
    this.#failures = 0;
    const raw = resolved.event;
    if (raw === undefined || !this.options.accepts(raw.streamId, raw.type)) return undefined;
    // A reopened subscription may repeat what was delivered before the failure.
    const position = raw.position?.commit ?? resolved.commitPosition;
    if (position !== undefined && position <= this.#delivered) return undefined;
    let event: RecordedEvent | undefined;
    try {
      event = fromResolved(resolved);
    } catch (error) {
      void this.close();
      throw error;
    }
    if (event) this.#delivered = event.globalPosition;
    return event;
  }

  async #recover(): Promise<void> {
    const failure = this.#sourceFailure
      ? toStoreError(this.#sourceFailure)
      : new EventStoreUnavailableError('KurrentDB ended the subscription');
    if (!(failure instanceof EventStoreUnavailableError)) {
      void this.close();
      throw failure;
    }
    this.#failures += 1;
    await this.#disposeSource();
    await this.#sleep(Math.min(50 * 2 ** this.#failures, MAX_FAILURE_BACKOFF_MS));
    if (!this.#closed) this.#source = this.#openSource();
  }

  #openSource(): AllStreamSubscription {
    this.#sourceFailure = undefined;
    this.#sourceEnded = false;
    const source = this.options.open(this.#delivered);
    source.on('confirmation', this.#onConfirmation);
    source.on('readable', this.#onReadable);
    source.on('error', this.#onError);
    source.on('end', this.#onEnd);
    return source;
  }

  async #disposeSource(): Promise<void> {
    const source = this.#source;
    source.off('confirmation', this.#onConfirmation);
    source.off('readable', this.#onReadable);
    source.off('error', this.#onError);
    source.off('end', this.#onEnd);
    source.on('error', () => undefined); // what a cancelled call still reports is of no interest
    await source.unsubscribe().catch(() => undefined);
    source.destroy();
  }

  readonly #onConfirmation = (): void => {
    this.#failures = 0;
  };

  readonly #onReadable = (): void => {
    this.#wake?.();
  };

  readonly #onError = (error: Error): void => {
    this.#sourceFailure = error;
    this.#wake?.();
  };

  readonly #onEnd = (): void => {
    this.#sourceEnded = true;
    this.#wake?.();
  };

  /** Waits for the source to signal, for `ms` if given, or for close. */
  #sleep(ms?: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      this.#wake = done;
    });
  }
}
