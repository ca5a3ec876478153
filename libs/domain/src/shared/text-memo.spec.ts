import { memoByText } from './text-memo.js';

describe('memoByText', () => {
  it('computes a text once and returns the same result after', () => {
    let calls = 0;
    const length = memoByText((text) => ({ length: text.length, call: ++calls }));
    const first = length('abc');
    expect(length('abc')).toBe(first);
    expect(calls).toBe(1);
  });

  it('forgets the oldest text beyond its capacity', () => {
    const seen: string[] = [];
    const upper = memoByText((text) => {
      seen.push(text);
      return text.toUpperCase();
    }, 2);
    ['a', 'b', 'c', 'b', 'a'].forEach((text) => expect(upper(text)).toBe(text.toUpperCase()));
    expect(seen).toEqual(['a', 'b', 'c', 'a']);
  });
});
