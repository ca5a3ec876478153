import { type ExpectedRevision, type NewEvent } from '../event-store.port.js';
import { InvalidAppendError } from '../errors.js';
import { isExpectedRevision, jsonObject } from '../append-input.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An append after validation: ids in PostgreSQL's canonical (lower-case) form, payloads as jsonb will return them. */
export interface ValidAppend {
  streamId: string;
  events: NewEvent[];
  expectedRevision: ExpectedRevision;
}

/**
 * Refuses malformed appends before they reach a batch, so one caller's mistake costs no one else a retry. That covers
 * what PostgreSQL would refuse in any case and the batch must not carry: a NUL in the stream id or the type (text
 * cannot hold it, and a query text cannot carry it; NUL inside data and metadata is refused by jsonb and goes to the
 * batch's one-by-one retry).
 * Payloads go through a JSON round trip: the hash must cover exactly what reads will return from jsonb.
 */
export function validateAppend(
  streamId: string,
  events: readonly NewEvent[],
  expectedRevision: ExpectedRevision = 'any',
): ValidAppend {
  if (typeof streamId !== 'string' || streamId.length === 0) {
    throw new InvalidAppendError(`A stream id must be a non-empty string, got ${JSON.stringify(streamId)}`);
  }
  if (streamId.includes('\u0000')) {
    throw new InvalidAppendError(`A stream id cannot hold a NUL character (PostgreSQL text cannot store it)`);
  }
  if (!Array.isArray(events) || events.length === 0) {
    throw new InvalidAppendError(`An append to stream ${streamId} must carry at least one event`);
  }
  if (!isExpectedRevision(expectedRevision)) {
    throw new InvalidAppendError(
      `Invalid expected revision ${JSON.stringify(expectedRevision)} for stream ${streamId}: ` +
        `use 'any', 'no_stream', 'stream_exists' or a revision >= 0`,
    );
  }
  const seen = new Set<string>();
  const valid = events.map((event, index) => {
    const where = `event ${index} of the append to stream ${streamId}`;
    if (typeof event.eventId !== 'string' || !UUID.test(event.eventId)) {
      throw new InvalidAppendError(`The eventId of ${where} is not a UUID: ${JSON.stringify(event.eventId)}`);
    }
    const eventId = event.eventId.toLowerCase();
    if (seen.has(eventId)) {
      throw new InvalidAppendError(`The eventId ${eventId} appears twice in the append to stream ${streamId}`);
    }
    seen.add(eventId);
    if (typeof event.type !== 'string' || event.type.length === 0) {
      throw new InvalidAppendError(`The type of ${where} must be a non-empty string`);
    }
    if (event.type.includes('\u0000')) {
      throw new InvalidAppendError(
        `The type of ${where} cannot hold a NUL character (PostgreSQL text cannot store it)`,
      );
    }
    return {
      eventId,
      type: event.type,
      data: jsonObject(event.data, `the data of ${where}`),
      metadata: jsonObject(event.metadata, `the metadata of ${where}`),
    };
  });
  return { streamId, events: valid, expectedRevision };
}
