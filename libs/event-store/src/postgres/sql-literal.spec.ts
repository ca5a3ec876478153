import fc from 'fast-check';
import pg from 'pg';
import { sqlArray, sqlInteger, sqlLiteral } from './sql-literal.js';

const client = new pg.Client();

describe('SQL literals for simple-protocol messages', () => {
  it('returns exactly what pg escapeLiteral returns, for any text without NUL', () => {
    const text = fc.string({ unit: 'binary' }).filter((value) => !value.includes('\u0000'));
    fc.assert(
      fc.property(text, (value) => {
        expect(sqlLiteral(value)).toBe(client.escapeLiteral(value));
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    ["it's", "'it''s'"],
    ['back\\slash', " E'back\\\\slash'"],
    ["'; DROP TABLE ledger.events; --", "'''; DROP TABLE ledger.events; --'"],
    ['$$ dollar $$', "'$$ dollar $$'"],
    ['', "''"],
  ])('quotes %p as %p', (value, literal) => {
    expect(sqlLiteral(value)).toBe(literal);
  });

  it('refuses a NUL, which would cut the query text short', () => {
    expect(() => sqlLiteral('a\u0000b')).toThrow(RangeError);
  });

  it('builds typed arrays and integer constants', () => {
    expect(sqlArray(['a', "b'c"], 'text')).toBe("ARRAY['a','b''c']::text[]");
    expect(sqlArray([], 'uuid')).toBe('ARRAY[]::uuid[]');
    expect(sqlInteger(42)).toBe('42');
    expect(() => sqlInteger(1.5)).toThrow(RangeError);
    expect(() => sqlInteger(Number.NaN)).toThrow(RangeError);
  });
});
