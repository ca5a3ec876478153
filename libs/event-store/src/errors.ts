/** Typed store errors with stable codes; messages name every value involved. */
export abstract class EventStoreError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class WrongExpectedVersionError extends EventStoreError {
  readonly code = 'EVENT_STORE.WRONG_EXPECTED_VERSION';
  constructor(
    readonly streamId: string,
    readonly expected: string | number,
    readonly actual: number | 'no_stream',
  ) {
    super(`Wrong expected version: ${expected} (stream: ${streamId}, stream version: ${actual})`);
  }
}

export class StreamNotFoundError extends EventStoreError {
  readonly code = 'EVENT_STORE.STREAM_NOT_FOUND';
  constructor(readonly streamId: string) {
    super(`Stream not found: ${streamId}`);
  }
}

/** The stored event a reused idempotency key points at, and what the new command says differently. */
export interface IdempotencyConflictDetails {
  /** The caller's idempotency key (execution id, approval id), when the caller named it. */
  idempotencyKey?: string;
  /** The event id derived from that key: the id of the stored event. */
  eventId: string;
  /** `globalPosition` is a decimal string (`pending` for an event of the same, uncommitted batch). */
  stored: { eventId: string; streamId: string; streamRevision: number; globalPosition: string; type: string };
  /** Field paths of the event's data (or `type`) where the new command differs from the stored event. */
  differences: string[];
}

/**
 * An event id reused for different content, already stored in another stream, or only part of a retried batch stored.
 * A retry of the same content is not a conflict: it gets the original answer (`idempotentReplay`).
 */
export class IdempotencyConflictError extends EventStoreError {
  readonly code = 'EVENT_STORE.IDEMPOTENCY_CONFLICT';
  constructor(
    readonly streamId: string,
    readonly eventIds: string[],
    detail: string,
    readonly details?: IdempotencyConflictDetails,
  ) {
    super(`Idempotency conflict on stream ${streamId} for event ids ${eventIds.join(', ')}: ${detail}`);
  }

  /** A different content for a used key: names the key, the stored event's id and position, and the differences. */
  static ofDifferentContent(streamId: string, details: IdempotencyConflictDetails): IdempotencyConflictError {
    const { stored } = details;
    const key = details.idempotencyKey === undefined ? '' : `idempotency key ${details.idempotencyKey} (`;
    const detail =
      `${key}event ${details.eventId}${key ? ')' : ''} is already stored at global position ${stored.globalPosition} ` +
      `(stream ${stored.streamId}, revision ${stored.streamRevision}) with different content: ` +
      `${details.differences.join(', ')} differ`;
    return new IdempotencyConflictError(streamId, [details.eventId], detail, details);
  }

  /** The same conflict, naming the caller's idempotency key. */
  withIdempotencyKey(idempotencyKey: string): IdempotencyConflictError {
    if (!this.details) return this;
    return IdempotencyConflictError.ofDifferentContent(this.streamId, { ...this.details, idempotencyKey });
  }
}

export class InvalidAppendError extends EventStoreError {
  readonly code = 'EVENT_STORE.INVALID_APPEND';
}

export class EventStoreUnavailableError extends EventStoreError {
  readonly code = 'EVENT_STORE.UNAVAILABLE';
}

export class SubscriptionClosedError extends EventStoreError {
  readonly code = 'EVENT_STORE.SUBSCRIPTION_CLOSED';
}
