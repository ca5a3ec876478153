import { randomUUID } from 'node:crypto';
import { InvalidAppendError } from '../errors.js';
import { validateAppend } from './append-validation.js';

const event = (overrides: Record<string, unknown> = {}) =>
  ({ eventId: randomUUID(), type: 'Happened', data: {}, metadata: {}, ...overrides }) as never;

describe('append validation', () => {
  it.each([
    ['no events', 's-1', []],
    ['an empty stream id', '', [event()]],
    ['an event id that is not a UUID', 's-1', [event({ eventId: 'e-1' })]],
    ['an empty type', 's-1', [event({ type: '' })]],
    ['data that is an array', 's-1', [event({ data: [1] })]],
    ['metadata that cannot be serialised', 's-1', [event({ metadata: { n: 1n } })]],
    ['a NUL in the stream id', 's-\u0000-1', [event()]],
    ['a NUL in the type', 's-1', [event({ type: 'Happened\u0000' })]],
    ['a lone surrogate in the stream id', 's-\ud800', [event()]],
    ['a lone surrogate in the type', 's-1', [event({ type: 'Happened\udc00' })]],
    ['a lone surrogate in the data', 's-1', [event({ data: { command: 'ls \ud800' } })]],
    ['a lone surrogate in a member name of the data', 's-1', [event({ data: { nested: { '\ud800': 1 } } })]],
    ['a NUL in the data', 's-1', [event({ data: { output: ['a\u0000'] } })]],
    ['a NUL in a member name of the metadata', 's-1', [event({ metadata: { 'k\u0000': 1 } })]],
  ])('refuses an append with %s', (_, streamId, events) => {
    expect(() => validateAppend(streamId, events)).toThrow(InvalidAppendError);
  });

  it('names the field that cannot be stored faithfully', () => {
    expect(() => validateAppend('s-1', [event({ data: { a: [{ command: '\ud800' }] } })])).toThrow(/a\.0\.command/);
  });

  it('refuses the same event id twice in one append', () => {
    const eventId = randomUUID();
    expect(() => validateAppend('s-1', [event({ eventId }), event({ eventId })])).toThrow(InvalidAppendError);
  });

  it.each([-1, 1.5, 'latest'])('refuses the expected revision %p', (expected) => {
    expect(() => validateAppend('s-1', [event()], expected as never)).toThrow(InvalidAppendError);
  });

  it('normalises ids and payloads to what the database returns', () => {
    // given an upper-case id and data with undefined members and a Date, when validated,
    // then the id is lower case and the data is what a JSON round trip (and jsonb) gives back
    const at = new Date('2026-01-02T03:04:05.000Z');
    const eventId = randomUUID().toUpperCase();
    const valid = validateAppend('s-1', [event({ eventId, data: { at, gone: undefined, n: 1 } })]);
    expect(valid.events[0]).toMatchObject({ eventId: eventId.toLowerCase(), data: { at: at.toISOString(), n: 1 } });
    expect(valid.events[0]?.data).not.toHaveProperty('gone');
    expect(valid.expectedRevision).toBe('any');
  });
});
