import { canonicalJson, NotCanonicalisableError } from './canonical-json.js';

describe('canonicalJson (RFC 8785)', () => {
  it('sorts object members by UTF-16 code units, recursively', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
    );
    // RFC 8785 §3.2.3 example: code unit order puts "\u20ac" (€) after "\r" and "1" and before emoji surrogates.
    expect(canonicalJson({ '\u20ac': 1, '\r': 2, '1': 3, '\ud83d\ude00': 4 })).toBe('{"\\r":2,"1":3,"€":1,"😀":4}');
  });

  it('writes numbers in ECMAScript shortest form', () => {
    expect(canonicalJson([1e21, 1.5e-7, -0, 333333333.3333333, 100])).toBe('[1e+21,1.5e-7,0,333333333.3333333,100]');
  });

  it('drops undefined members and refuses values JSON cannot hold', () => {
    expect(canonicalJson({ a: undefined, b: 'x' })).toBe('{"b":"x"}');
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(NotCanonicalisableError);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(NotCanonicalisableError);
  });
});
