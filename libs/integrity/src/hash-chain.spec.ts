import fc from 'fast-check';
import { canonicalJson } from './canonical-json.js';
import { chainHash, chainHashOfCanonicalPayloads, GENESIS_HASH, verifyChain, type ChainedEvent } from './hash-chain.js';

function chain(count: number): ChainedEvent[] {
  const events: ChainedEvent[] = [];
  let prev = GENESIS_HASH;
  for (let i = 0; i < count; i++) {
    const fields = { eventId: `e${i}`, streamId: 's-1', streamRevision: i, type: 'T', data: { i }, metadata: {} };
    const hash = chainHash(prev, fields);
    events.push({ ...fields, prevHash: prev, hash });
    prev = hash;
  }
  return events;
}

describe('hash chain', () => {
  it('accepts an untouched chain', () => {
    expect(verifyChain(chain(5))).toBeNull();
  });

  it('names the first edited event', () => {
    const events = chain(5);
    events[2] = { ...events[2]!, data: { i: 99 } };
    expect(verifyChain(events)).toMatchObject({ kind: 'wrong_hash', streamRevision: 2 });
  });

  it('names a deleted event as a revision gap', () => {
    const events = chain(5);
    events.splice(3, 1);
    expect(verifyChain(events)).toMatchObject({ kind: 'revision_gap', streamRevision: 4, expectedRevision: 3 });
  });

  it('does not depend on member order of data', () => {
    const a = chainHash(GENESIS_HASH, {
      eventId: 'e',
      streamId: 's',
      streamRevision: 0,
      type: 'T',
      data: { x: 1, y: 2 },
      metadata: {},
    });
    const b = chainHash(GENESIS_HASH, {
      eventId: 'e',
      streamId: 's',
      streamRevision: 0,
      type: 'T',
      data: { y: 2, x: 1 },
      metadata: {},
    });
    expect(a).toBe(b);
  });

  it('hashes events with payloads given as canonical text exactly as chainHash does', () => {
    const payload = fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }));
    fc.assert(
      fc.property(
        fc.record({
          eventId: fc.uuid(),
          streamId: fc.string({ minLength: 1 }),
          streamRevision: fc.nat(),
          type: fc.string({ minLength: 1 }),
          data: payload,
          metadata: payload,
        }),
        (event) => {
          const text = chainHashOfCanonicalPayloads(
            GENESIS_HASH,
            event,
            canonicalJson(event.data),
            canonicalJson(event.metadata),
          );
          expect(text).toBe(chainHash(GENESIS_HASH, event));
        },
      ),
    );
  });
});
