/**
 * The event store port. Every adapter (PostgreSQL, KurrentDB) implements it and passes the one contract suite in
 * `libs/event-store/test/event-store.contract.ts` unchanged: differences between stores are normalised here, in the
 * adapters, never passed to the suite as options. Revisions start at 0 in every adapter.
 */

/**
 * An event as the caller proposes it. `eventId` is the idempotency key: appending a known id with the same type and
 * data appends nothing and answers the original result; with a different type or data it is a conflict.
 */
export interface NewEvent {
  eventId: string;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  /**
   * Ids the same event may already be stored under, in this stream, from before its id formula changed (a caller that
   * derives ids from an idempotency key and changed the derivation). An id here that is stored in the stream counts as
   * this event's: the append is a replay of the stored event (or a conflict), exactly as if `eventId` were stored.
   * Never stored; never part of a RecordedEvent.
   */
  aliasEventIds?: readonly string[];
}

/** An event as stored: hash-chained per stream, ordered globally by `globalPosition`. */
export interface RecordedEvent extends Omit<NewEvent, 'aliasEventIds'> {
  streamId: string;
  streamRevision: number;
  globalPosition: bigint;
  prevHash: string;
  hash: string;
  recordedAt: Date;
}

/**
 * `'no_stream'`: the stream must not exist; `'stream_exists'`: it must exist; `'any'`: no check;
 * a number: the stream's last revision must be exactly this.
 */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | number;

export interface AppendOptions {
  expectedRevision?: ExpectedRevision;
  /**
   * Paths in the events' data (`output.text`) that the caller derives when it receives a command (capped text, HMACs
   * under a key that may rotate): a retry is compared with the stored event on their presence only. Every other
   * difference of type or data under a known event id is an IdempotencyConflictError; metadata is never compared.
   */
  derivedPaths?: readonly string[];
}

/** The durable acknowledgement of an append: once returned, the events survive a crash. */
export interface AppendResult {
  streamId: string;
  /** The last revision written (or, for an idempotent retry, the original one). */
  nextExpectedRevision: number;
  /** Global position of the last event of this append. */
  lastPosition: bigint;
  events: { eventId: string; streamRevision: number; globalPosition: bigint; hash: string }[];
  /** True when every event was already stored: nothing was appended. */
  idempotentReplay: boolean;
}

export type ReadDirection = 'forwards' | 'backwards';

export interface ReadStreamOptions {
  /** Inclusive. Defaults to 0 forwards, to the last revision backwards. */
  fromRevision?: number;
  direction?: ReadDirection;
  maxCount?: number;
}

export interface ReadAllFilter {
  /** Only these event types. */
  eventTypes?: string[];
  /** Only streams whose id starts with one of these prefixes, e.g. `approval-`. */
  streamPrefixes?: string[];
}

export interface ReadAllOptions {
  /** Exclusive: events with a global position strictly greater than this. Defaults to before the first event. */
  fromPosition?: bigint;
  maxCount?: number;
  filter?: ReadAllFilter;
}

export interface SubscribeToAllOptions {
  /** Exclusive, like readAll. */
  fromPosition?: bigint;
  filter?: ReadAllFilter;
  /**
   * While live, read at most once per this many ms (PostgreSQL store; default: the store's `minReadIntervalMs`). A
   * follower that wants few of the events (a filter matching a rare stream) then costs a few reads a second however
   * fast others append, instead of a read per commit, for at most this much delay.
   */
  minReadIntervalMs?: number;
}

/**
 * A catch-up-then-live subscription. It delivers events in global order with no gaps: an event that commits late
 * with a lower position than one already delivered is impossible by construction.
 */
export interface Subscription extends AsyncIterable<RecordedEvent> {
  /** The position of the last event delivered (or the start position). */
  readonly position: bigint;
  /** True while the subscription is delivering (catching up or live). */
  readonly isAlive: boolean;
  close(): Promise<void>;
}

export interface EventStore {
  appendToStream(streamId: string, events: NewEvent[], options?: AppendOptions): Promise<AppendResult>;
  /** Throws StreamNotFoundError when the stream has no events. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /**
   * Events in global order. May return fewer than `maxCount` (even none) while an event with a lower position is
   * still being committed: it never returns a position that an event committed later could precede.
   */
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  subscribeToAll(options?: SubscribeToAllOptions): Subscription;
  streamExists(streamId: string): Promise<boolean>;
  /**
   * The highest global position committed now (0 when the log is empty): where a follower that wants only what comes
   * next subscribes from. Optional: without it such a follower starts from the beginning and skips what it reads.
   */
  headPosition?(): Promise<bigint>;
  close(): Promise<void>;
}
