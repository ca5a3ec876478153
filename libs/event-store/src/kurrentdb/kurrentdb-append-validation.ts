import { InvalidAppendError } from '../errors.js';
import { type ExpectedRevision, type NewEvent } from '../event-store.port.js';
import { CLAIM_EVENT_TYPE, CLAIM_STREAM_PREFIX, LEDGER_METADATA_KEY } from './kurrentdb-event-codec.js';
import { checkAppend } from '../append-input.js';

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
  return checkAppend(streamId, events, expectedRevision, {
    streamId(id) {
      if (id.startsWith('$')) {
        throw new InvalidAppendError(`Stream id ${id} starts with $, which KurrentDB reserves for system streams`);
      }
      if (id.startsWith(CLAIM_STREAM_PREFIX)) {
        throw new InvalidAppendError(
          `Stream id ${id} starts with ${CLAIM_STREAM_PREFIX}, reserved for event id claims`,
        );
      }
    },
    type(type, where) {
      if (type.startsWith('$') || type === CLAIM_EVENT_TYPE) {
        throw new InvalidAppendError(`The type ${type} of ${where} is reserved by KurrentDB or the adapter`);
      }
    },
    metadata(metadata, where) {
      if (Object.hasOwn(metadata, LEDGER_METADATA_KEY)) {
        throw new InvalidAppendError(`The metadata of ${where} uses the reserved key ${LEDGER_METADATA_KEY}`);
      }
    },
  });
}
