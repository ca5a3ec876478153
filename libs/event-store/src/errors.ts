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

/** An event id that is already stored in another stream, or only part of a retried batch is stored. */
export class IdempotencyConflictError extends EventStoreError {
  readonly code = 'EVENT_STORE.IDEMPOTENCY_CONFLICT';
  constructor(
    readonly streamId: string,
    readonly eventIds: string[],
    detail: string,
  ) {
    super(`Idempotency conflict on stream ${streamId} for event ids ${eventIds.join(', ')}: ${detail}`);
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
