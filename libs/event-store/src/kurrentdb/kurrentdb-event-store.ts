import { randomUUID } from 'node:crypto';
import { chainHash, GENESIS_HASH } from '@audit-ledger/integrity';
import {
  BACKWARDS,
  END,
  FORWARDS,
  KurrentDBClient,
  NO_STREAM,
  type ReadPosition,
  START,
} from '@kurrent/kurrentdb-client';
import {
  EventStoreUnavailableError,
  IdempotencyConflictError,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '../errors.js';
import {
  type AppendOptions,
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeToAllOptions,
  type Subscription,
} from '../event-store.port.js';
import { KeyedLock } from './keyed-lock.js';
import { claimEventId, claimOwner, type EventIdClaim } from './kurrentdb-event-id-claims.js';
import { validateAppend } from './kurrentdb-append-validation.js';
import { differentContentConflict, foreignStreamConflict, idsOf } from '../append-input.js';
import { type ChainedNewEvent, fromResolved, toEventData } from './kurrentdb-event-codec.js';
import { asWrongExpectedVersion, isStreamGone, toStoreError } from './kurrentdb-errors.js';
import { planAllFilter } from './kurrentdb-filter.js';
import { KurrentDbSubscription } from './kurrentdb-subscription.js';

export { UnreadableEventError } from './kurrentdb-event-codec.js';

/** Events per $all read request. */
const READ_ALL_PAGE = 500;
/** Reads and appends per call when other writers keep moving the stream under an append. */
const MAX_APPEND_ATTEMPTS = 10;

/**
 * The event store port on KurrentDB (EventStoreDB's successor), through the official gRPC client.
 *
 * KurrentDB has no transactions spanning a read and a write, so the hash chain is kept consistent this way: appends
 * to one stream are serialised within the process, each reads the stream's last event, computes the hash links from
 * it, and appends with the revision it read as the expected one. A writer in another process that got there first
 * makes KurrentDB refuse the append; it is then re-planned from a fresh read.
 *
 * Idempotency does not rely on KurrentDB's own (best effort, per stream): every event id is first claimed for its
 * stream in a claim stream of its own (see kurrentdb-event-id-claims.ts), which also refuses an id already stored
 * in another stream. When a claim already existed, the stream is read to answer the retry with the original result.
 */
export class KurrentDbEventStore implements EventStore {
  readonly #client: KurrentDBClient;
  readonly #streamLocks = new KeyedLock();
  readonly #subscriptions = new Set<KurrentDbSubscription>();
  #closed = false;

  private constructor(client: KurrentDBClient) {
    this.#client = client;
  }

  /**
   * Connects with a KurrentDB connection string, e.g. `kurrentdb://127.0.0.1:2113?tls=false`, and checks that the
   * server answers (EventStoreUnavailableError otherwise).
   */
  static async connect(connectionString: string): Promise<KurrentDbEventStore> {
    const store = KurrentDbEventStore.fromClient(KurrentDBClient.connectionString(connectionString));
    try {
      await store.streamExists(`ledger-connection-check-${randomUUID()}`);
    } catch (error) {
      await store.close().catch(() => undefined);
      if (!(error instanceof EventStoreUnavailableError)) throw error;
      const where = connectionString.replace(/\/\/[^@/?]*@/, '//');
      throw new EventStoreUnavailableError(`No KurrentDB answers at ${where}`, { cause: error });
    }
    return store;
  }

  /** Wraps a client built by the caller (e.g. with a credentials provider). `close()` disposes it. */
  static fromClient(client: KurrentDBClient): KurrentDbEventStore {
    return new KurrentDbEventStore(client);
  }

  async appendToStream(streamId: string, events: NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    this.#ensureOpen();
    const expected = options.expectedRevision ?? 'any';
    const valid = validateAppend(streamId, events, expected);
    const derived = options.derivedPaths ?? [];
    return this.#streamLocks.run(streamId, () => this.#append(streamId, valid, expected, derived));
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    this.#ensureOpen();
    const { direction = 'forwards', fromRevision, maxCount } = options;
    if (fromRevision !== undefined && !(Number.isSafeInteger(fromRevision) && fromRevision >= 0)) {
      throw new RangeError(`fromRevision must be a revision >= 0, got ${fromRevision} (stream ${streamId})`);
    }
    if (maxCount !== undefined && maxCount <= 0) {
      if (!(await this.streamExists(streamId))) throw new StreamNotFoundError(streamId);
      return [];
    }
    return this.#readStream(streamId, {
      direction: direction === 'forwards' ? FORWARDS : BACKWARDS,
      fromRevision: fromRevision !== undefined ? BigInt(fromRevision) : direction === 'forwards' ? START : END,
      ...(maxCount !== undefined && { maxCount }),
    });
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    this.#ensureOpen();
    const plan = planAllFilter(options.filter);
    const limit = options.maxCount ?? Number.POSITIVE_INFINITY;
    const events: RecordedEvent[] = [];
    let after = options.fromPosition ?? 0n;
    while (events.length < limit) {
      // KurrentDB reads $all from a position inclusively; the port's fromPosition is exclusive.
      const inclusive = after > 0n ? 1 : 0;
      const requested = Math.min(READ_ALL_PAGE, limit - events.length) + inclusive;
      let received = 0;
      let lastSeen = after;
      try {
        const page = this.#client.readAll({
          fromPosition: positionAfter(after),
          maxCount: requested,
          filter: plan.server,
        });
        for await (const resolved of page) {
          received += 1;
          const raw = resolved.event;
          const position = raw?.position?.commit ?? resolved.commitPosition;
          if (position !== undefined) {
            if (position <= after) continue;
            lastSeen = position;
          }
          if (raw === undefined || !plan.accepts(raw.streamId, raw.type)) continue;
          const event = fromResolved(resolved);
          if (event) events.push(event);
          if (events.length >= limit) break;
        }
      } catch (error) {
        throw toStoreError(error);
      }
      if (received < requested || lastSeen <= after) break;
      after = lastSeen;
    }
    return events;
  }

  subscribeToAll(options: SubscribeToAllOptions = {}): Subscription {
    this.#ensureOpen();
    const plan = planAllFilter(options.filter);
    const subscription = new KurrentDbSubscription({
      fromPosition: options.fromPosition ?? 0n,
      accepts: plan.accepts,
      // KurrentDB subscribes to $all from a position exclusively, as the port does.
      open: (position) => this.#client.subscribeToAll({ fromPosition: positionAfter(position), filter: plan.server }),
      onClosed: (closed) => this.#subscriptions.delete(closed),
    });
    this.#subscriptions.add(subscription);
    return subscription;
  }

  async streamExists(streamId: string): Promise<boolean> {
    this.#ensureOpen();
    try {
      for await (const _ of this.#client.readStream(streamId, {
        direction: BACKWARDS,
        fromRevision: END,
        maxCount: 1,
      })) {
        return true;
      }
      return false;
    } catch (error) {
      if (isStreamGone(error)) return false;
      throw toStoreError(error, streamId);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.close()));
    await this.#client.dispose();
  }

  async #append(
    streamId: string,
    events: NewEvent[],
    expected: ExpectedRevision,
    derivedPaths: readonly string[],
  ): Promise<AppendResult> {
    for (let attempt = 1; ; attempt += 1) {
      let head = (await this.#readStream(streamId, LAST_EVENT, true).catch(notFoundAsEmpty))[0];
      if (await this.#aliasStoredIn(streamId, events)) {
        // Stored under an alias (the id the caller derived before): answered from the stream, nothing claimed.
        const stored = await this.#readStream(streamId, WHOLE_STREAM, true).catch(notFoundAsEmpty);
        const replay = replayOf(streamId, stored, events, derivedPaths);
        if (replay) return replay;
      }
      const claims = await Promise.all(events.map((event) => claimEventId(this.#client, event.eventId, streamId)));
      const elsewhere = claims.filter((claim) => claim.owner !== streamId);
      if (elsewhere.length > 0) throw await this.#foreignConflict(streamId, events, elsewhere, derivedPaths);
      if (claims.some((claim) => claim.existed)) {
        // Idempotency comes before the revision check: a retry gets its original answer though the stream moved on.
        const stored = await this.#readStream(streamId, WHOLE_STREAM, true).catch(notFoundAsEmpty);
        const replay = replayOf(streamId, stored, events, derivedPaths);
        if (replay) return replay;
        head = stored.at(-1);
      }

      const current = head?.streamRevision ?? 'no_stream';
      if (!satisfies(expected, current)) throw new WrongExpectedVersionError(streamId, expected, current);

      const chained = chain(streamId, head, events);
      try {
        await this.#client.appendToStream(streamId, chained.map(toEventData), {
          streamState: head ? BigInt(head.streamRevision) : NO_STREAM,
          requiresLeader: true,
        });
      } catch (error) {
        const conflict = asWrongExpectedVersion(error);
        if (!conflict) throw toStoreError(error, streamId);
        // Another process appended since the read. The next round judges replay and expectation on the new stream.
        if (attempt < MAX_APPEND_ATTEMPTS) continue;
        const actual = conflict.actualState === 'no_stream' ? 'no_stream' : Number(conflict.actualState);
        throw new WrongExpectedVersionError(streamId, expected, actual);
      }
      return this.#resultOf(streamId, chained);
    }
  }

  /** Whether an alias id of one of the events is claimed for this stream (the event stored under its old id). */
  async #aliasStoredIn(streamId: string, events: readonly NewEvent[]): Promise<boolean> {
    const aliases = events.flatMap((event) => event.aliasEventIds ?? []);
    const owners = await Promise.all(aliases.map((alias) => claimOwner(this.#client, alias)));
    return owners.includes(streamId);
  }

  /** The conflict of an id claimed for another stream, naming the stored event and what differs when it is found. */
  async #foreignConflict(
    streamId: string,
    events: readonly NewEvent[],
    elsewhere: readonly EventIdClaim[],
    derivedPaths: readonly string[],
  ): Promise<IdempotencyConflictError> {
    const first = elsewhere[0]!;
    const proposed = events.find((event) => event.eventId === first.eventId)!;
    // A claim may outlive an append that failed (see kurrentdb-event-id-claims.ts): the owner may not hold the event.
    const owned = await this.#readStream(first.owner, WHOLE_STREAM, true).catch(notFoundAsEmpty);
    const stored = owned.find((event) => event.eventId === first.eventId);
    if (stored) return foreignStreamConflict(streamId, proposed, stored, derivedPaths);
    const detail = elsewhere.map((claim) => `event ${claim.eventId} is already claimed by stream ${claim.owner}`);
    return new IdempotencyConflictError(streamId, ids(elsewhere), detail.join('; '));
  }

  /** Reads back what was appended: KurrentDB returns one position per append, the port wants one per event. */
  async #resultOf(streamId: string, chained: ChainedNewEvent[]): Promise<AppendResult> {
    const first = chained[0]!;
    const written = await this.#readStream(
      streamId,
      { direction: FORWARDS, fromRevision: BigInt(first.streamRevision), maxCount: chained.length },
      true,
    );
    const events = chained.map((event, index) => {
      const stored = written[index];
      // A soft-deleted stream keeps counting revisions in KurrentDB: the chain must never silently skip one.
      if (stored?.eventId !== event.eventId || stored.streamRevision !== event.streamRevision) {
        throw new Error(
          `KurrentDB stored event ${event.eventId} of stream ${streamId} elsewhere than at revision ` +
            `${event.streamRevision} (found ${stored?.eventId ?? 'nothing'} there): its hash link is wrong`,
        );
      }
      const { eventId, streamRevision, hash } = event;
      return { eventId, streamRevision, globalPosition: stored.globalPosition, hash };
    });
    return toAppendResult(streamId, events, false);
  }

  async #readStream(
    streamId: string,
    options: {
      direction: typeof FORWARDS | typeof BACKWARDS;
      fromRevision: bigint | typeof START | typeof END;
      maxCount?: number;
    },
    requiresLeader = false,
  ): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    try {
      for await (const resolved of this.#client.readStream(streamId, { ...options, requiresLeader })) {
        const event = fromResolved(resolved);
        if (event) events.push(event);
      }
    } catch (error) {
      throw toStoreError(error, streamId);
    }
    return events;
  }

  #ensureOpen(): void {
    if (this.#closed) throw new EventStoreUnavailableError('The KurrentDB event store is closed');
  }
}

const LAST_EVENT = { direction: BACKWARDS, fromRevision: END, maxCount: 1 } as const;
const WHOLE_STREAM = { direction: FORWARDS, fromRevision: START } as const;

function notFoundAsEmpty(error: unknown): RecordedEvent[] {
  if (error instanceof StreamNotFoundError) return [];
  throw error;
}

function ids(entries: readonly { eventId: string }[]): string[] {
  return entries.map((entry) => entry.eventId);
}

function positionAfter(position: bigint): ReadPosition {
  return position > 0n ? { commit: position, prepare: position } : START;
}

function satisfies(expected: ExpectedRevision, current: number | 'no_stream'): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return current === 'no_stream';
  if (expected === 'stream_exists') return current !== 'no_stream';
  return current === expected;
}

function chain(streamId: string, head: RecordedEvent | undefined, events: NewEvent[]): ChainedNewEvent[] {
  let prevHash = head?.hash ?? GENESIS_HASH;
  let streamRevision = head ? head.streamRevision : -1;
  return events.map((event) => {
    streamRevision += 1;
    const hash = chainHash(prevHash, { ...event, streamId, streamRevision });
    const chained = { ...event, streamRevision, prevHash, hash };
    prevHash = hash;
    return chained;
  });
}

/**
 * The original result when every event id is already in the stream with the same content; a conflict when only some
 * are, or when one of them holds something else (the shared check of every adapter).
 */
function replayOf(
  streamId: string,
  stored: RecordedEvent[],
  events: NewEvent[],
  derivedPaths: readonly string[],
): AppendResult | undefined {
  const byId = new Map(stored.map((event) => [event.eventId, event]));
  const found = events
    .map((event) => idsOf(event).reduce<RecordedEvent | undefined>((hit, id) => hit ?? byId.get(id), undefined))
    .filter((event) => event !== undefined);
  if (found.length === 0) return undefined;
  if (found.length < events.length) {
    const detail = `${found.length} of the ${events.length} events are already stored, the others are not`;
    throw new IdempotencyConflictError(streamId, ids(found), detail);
  }
  const pairs = events.map((proposed, index) => ({ proposed, stored: found[index]! }));
  const conflict = differentContentConflict(streamId, pairs, derivedPaths);
  if (conflict) throw conflict;
  return toAppendResult(streamId, found, true);
}

function toAppendResult(
  streamId: string,
  written: { eventId: string; streamRevision: number; globalPosition: bigint; hash: string }[],
  idempotentReplay: boolean,
): AppendResult {
  const events = written.map(({ eventId, streamRevision, globalPosition, hash }) => ({
    eventId,
    streamRevision,
    globalPosition,
    hash,
  }));
  return {
    streamId,
    nextExpectedRevision: Math.max(...events.map((event) => event.streamRevision)),
    lastPosition: events.reduce((last, event) => (event.globalPosition > last ? event.globalPosition : last), 0n),
    events,
    idempotentReplay,
  };
}
