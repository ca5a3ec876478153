import fc from 'fast-check';
import { contentDifferences } from './content-differences.js';

describe('contentDifferences', () => {
  it('finds nothing between a JSON value and its round-tripped copy (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(contentDifferences(value, JSON.parse(JSON.stringify(value)) as unknown)).toEqual([]);
      }),
    );
  });

  it('names each differing path: nested keys, array items and lengths, missing keys; undefined counts as absent', () => {
    const stored = { a: 1, b: { c: 'x', d: [1, 2] }, e: [1], f: 'kept', g: undefined };
    const proposed = { a: 2, b: { c: 'x', d: [1, 3] }, e: [1, 2], h: true };
    expect(contentDifferences(stored, proposed)).toEqual(['a', 'b.d[1]', 'e', 'f', 'h']);
  });

  it('compares presence-only paths (and what lies under them) on presence alone', () => {
    const stored = { output: { text: 'abc', sha256: 'f' }, tokenHash: 'h1' };
    expect(
      contentDifferences(stored, { output: { text: 'a', sha256: 'f' }, tokenHash: 'h2' }, ['output.text', 'tokenHash']),
    ).toEqual([]);
    expect(contentDifferences(stored, { output: { sha256: 'f' } }, ['output.text', 'tokenHash'])).toEqual([
      'output.text',
      'tokenHash',
    ]);
  });

  it('tells a value from a different type of value', () => {
    expect(contentDifferences({ a: 1 }, { a: '1' })).toEqual(['a']);
    expect(contentDifferences({ a: [] }, { a: {} })).toEqual(['a']);
    expect(contentDifferences({ a: null }, { a: 0 })).toEqual(['a']);
  });
});
