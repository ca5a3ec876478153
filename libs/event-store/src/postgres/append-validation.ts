import { type ExpectedRevision, type NewEvent } from '../event-store.port.js';
import { InvalidAppendError } from '../errors.js';
import { checkAppend } from '../append-input.js';

/** An append after validation: ids in PostgreSQL's canonical (lower-case) form, payloads as jsonb will return them. */
export interface ValidAppend {
  streamId: string;
  events: NewEvent[];
  expectedRevision: ExpectedRevision;
  /** Data paths a retry is compared on by presence only (AppendOptions.derivedPaths). */
  derivedPaths?: readonly string[];
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
  derivedPaths: readonly string[] = [],
): ValidAppend {
  const valid = checkAppend(streamId, events, expectedRevision, {
    streamId(id) {
      if (id.includes('\u0000')) {
        throw new InvalidAppendError(`A stream id cannot hold a NUL character (PostgreSQL text cannot store it)`);
      }
    },
    type(type, where) {
      if (type.includes('\u0000')) {
        throw new InvalidAppendError(
          `The type of ${where} cannot hold a NUL character (PostgreSQL text cannot store it)`,
        );
      }
    },
  });
  return { streamId, events: valid, expectedRevision, derivedPaths };
}
