import { InvalidAppendError } from '../errors.js';
import { type ExpectedRevision, type NewEvent } from '../event-store.port.js';
import { CLAIM_EVENT_TYPE, CLAIM_STREAM_PREFIX, LEDGER_METADATA_KEY } from './kurrentdb-event-codec.js';
import { isExpectedRevision, jsonObject } from '../append-input.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Refuses malformed appends with the same rules as the PostgreSQL adapter, plus what KurrentDB and this adapter
 * reserve: `$` stream ids and event types, the claim streams and their event type, and the `$ledger` metadata key. Event ids are returned in
 * KurrentDB's canonical lower-case form; payloads go through a JSON round trip, since the hash must cover exactly
 * what a read returns.
 */
export function validateAppend(
  streamId: string,
  events: readonly NewEvent[],
  expectedRevision: ExpectedRevision,
): NewEvent[] {
  if (typeof streamId !== 'string' || streamId.length === 0) {
    throw new InvalidAppendError(`A stream id must be a non-empty string, got ${JSON.stringify(streamId)}`);
  }
  if (streamId.startsWith('$')) {
    throw new InvalidAppendError(`Stream id ${streamId} starts with $, which KurrentDB reserves for system streams`);
  }
  if (streamId.startsWith(CLAIM_STREAM_PREFIX)) {
    throw new InvalidAppendError(
      `Stream id ${streamId} starts with ${CLAIM_STREAM_PREFIX}, reserved for event id claims`,
    );
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
  return events.map((event, index) => {
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
    if (event.type.startsWith('$') || event.type === CLAIM_EVENT_TYPE) {
      throw new InvalidAppendError(`The type ${event.type} of ${where} is reserved by KurrentDB or the adapter`);
    }
    const metadata = jsonObject(event.metadata, `the metadata of ${where}`);
    if (Object.hasOwn(metadata, LEDGER_METADATA_KEY)) {
      throw new InvalidAppendError(`The metadata of ${where} uses the reserved key ${LEDGER_METADATA_KEY}`);
    }
    return { eventId, type: event.type, data: jsonObject(event.data, `the data of ${where}`), metadata };
  });
}
