import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';

/** The prevHash of the first event of every stream. */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields of a stored event that its hash covers. Positions assigned by the database are not covered. */
export interface HashedEventFields {
  eventId: string;
  streamId: string;
  streamRevision: number;
  type: string;
  data: unknown;
  metadata: unknown;
}

/** hash = hex(SHA-256(utf8(prevHash) ‖ utf8(canonicalJson(fields)))) */
export function chainHash(prevHash: string, event: HashedEventFields): string {
  const fields: HashedEventFields = {
    eventId: event.eventId,
    streamId: event.streamId,
    streamRevision: event.streamRevision,
    type: event.type,
    data: event.data,
    metadata: event.metadata,
  };
  return createHash('sha256').update(prevHash, 'utf8').update(canonicalJson(fields), 'utf8').digest('hex');
}

/**
 * chainHash with data and metadata given as their canonical JSON text (what the store keeps byte for byte): the event's
 * canonical JSON is assembled around them, its members in RFC 8785 order, without rendering the payloads again.
 */
export function chainHashOfCanonicalPayloads(
  prevHash: string,
  event: Omit<HashedEventFields, 'data' | 'metadata'>,
  canonicalData: string,
  canonicalMetadata: string,
): string {
  const text =
    `{"data":${canonicalData},"eventId":${canonicalJson(event.eventId)},"metadata":${canonicalMetadata},` +
    `"streamId":${canonicalJson(event.streamId)},"streamRevision":${canonicalJson(event.streamRevision)},` +
    `"type":${canonicalJson(event.type)}}`;
  return createHash('sha256').update(prevHash, 'utf8').update(text, 'utf8').digest('hex');
}

export interface ChainedEvent extends HashedEventFields {
  prevHash: string;
  hash: string;
}

export type ChainBreak =
  | { kind: 'wrong_prev_hash'; streamRevision: number; expected: string; actual: string }
  | { kind: 'wrong_hash'; streamRevision: number; expected: string; actual: string }
  | { kind: 'revision_gap'; streamRevision: number; expectedRevision: number };

/** Checks one stream's events, in revision order from revision 0; returns the first break or null. */
export function verifyChain(events: Iterable<ChainedEvent>): ChainBreak | null {
  let expectedPrev = GENESIS_HASH;
  let expectedRevision = 0;
  for (const event of events) {
    if (event.streamRevision !== expectedRevision) {
      return { kind: 'revision_gap', streamRevision: event.streamRevision, expectedRevision };
    }
    if (event.prevHash !== expectedPrev) {
      return {
        kind: 'wrong_prev_hash',
        streamRevision: event.streamRevision,
        expected: expectedPrev,
        actual: event.prevHash,
      };
    }
    const recomputed = chainHash(event.prevHash, event);
    if (recomputed !== event.hash) {
      return { kind: 'wrong_hash', streamRevision: event.streamRevision, expected: recomputed, actual: event.hash };
    }
    expectedPrev = event.hash;
    expectedRevision += 1;
  }
  return null;
}
