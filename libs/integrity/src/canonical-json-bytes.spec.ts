import fc from 'fast-check';
import { CanonicalJsonWriter, chainHashOfBytes } from './canonical-json-bytes.js';
import { canonicalJson } from './canonical-json.js';
import { chainHash, type HashedEventFields } from './hash-chain.js';

/** What the writer must equal: the reference canonicaliser over the decoded, parsed text. */
function reference(bytes: Buffer): string {
  return canonicalJson(JSON.parse(bytes.toString('utf8')));
}

function written(bytes: Buffer): string {
  const writer = new CanonicalJsonWriter();
  // Surrounded by other bytes, as a field inside a row is.
  const row = Buffer.concat([Buffer.from('}]" 1'), bytes, Buffer.from('"\\ ,}')]);
  writer.appendCanonicalJson(row, 5, 5 + bytes.length);
  return writer.bytes().toString('utf8');
}

/** PostgreSQL's jsonb text: members by (length, bytes), ", " and ": " separators, its string escaping. */
function jsonbText(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(jsonbText).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const names = Object.keys(value).sort((a, b) => {
      const x = Buffer.from(a);
      const y = Buffer.from(b);
      return x.length - y.length || Buffer.compare(x, y);
    });
    return `{${names.map((n) => `${pgString(n)}: ${jsonbText((value as Record<string, unknown>)[n])}`).join(', ')}}`;
  }
  if (typeof value === 'string') return pgString(value);
  return JSON.stringify(value);
}

function pgString(text: string): string {
  let out = '"';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    const short: Record<number, string> = {
      8: '\\b',
      9: '\\t',
      10: '\\n',
      12: '\\f',
      13: '\\r',
      34: '\\"',
      92: '\\\\',
    };
    out += short[c] ?? (c < 0x20 ? `\\u${c.toString(16).padStart(4, '0')}` : ch);
  }
  return `${out}"`;
}

/** Other spellings of the same JSON: escapes JSON.stringify would not use, exponents, whitespace. */
const spelling = fc.constantFrom(
  (v: unknown) => JSON.stringify(v),
  (v: unknown) => JSON.stringify(v, null, 2),
  (v: unknown) => jsonbText(v),
  (v: unknown) =>
    JSON.stringify(v).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase()}`),
  (v: unknown) => JSON.stringify(v).replace(/\d+/g, (d) => (d.length < 10 ? `${d}.0e0` : d)),
);

const json = fc.jsonValue({ maxDepth: 4 });
const unicodeJson = fc.oneof(
  json,
  fc.dictionary(
    fc.string({ unit: 'binary' }),
    fc.oneof(fc.string({ unit: 'binary' }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer()),
  ),
  fc.array(
    fc.oneof(fc.string({ unit: 'grapheme' }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(-0)),
  ),
);

describe('CanonicalJsonWriter (RFC 8785 from UTF-8 bytes)', () => {
  it('writes exactly what canonicalJson(JSON.parse(text)) writes, for any JSON text', () => {
    fc.assert(
      fc.property(unicodeJson, spelling, (value, spell) => {
        const text = spell(value);
        if (text === undefined) return;
        const bytes = Buffer.from(text, 'utf8');
        let expected: string;
        try {
          expected = reference(bytes);
        } catch (error) {
          expect(() => written(bytes)).toThrow((error as Error).constructor as new () => Error);
          return;
        }
        expect(written(bytes)).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees with the reference on arbitrary, mostly invalid, texts', () => {
    const fragments = fc.constantFrom(
      '{',
      '}',
      '[',
      ']',
      '"',
      '\\',
      ':',
      ',',
      ' ',
      '0',
      '-',
      '1e5',
      'true',
      'nul',
      '\\u0001',
      '"a"',
      '"é"',
      '\n',
    );
    fc.assert(
      fc.property(fc.array(fragments, { maxLength: 12 }), (parts) => {
        const bytes = Buffer.from(parts.join(''), 'utf8');
        let expected: string | Error;
        try {
          expected = reference(bytes);
        } catch (error) {
          expected = error as Error;
        }
        if (expected instanceof Error) expect(() => written(bytes)).toThrow();
        else expect(written(bytes)).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('handles the cases the fast path must not copy', () => {
    const cases = [
      '{"b":1,"a":2,"b":3}', // duplicate names: the last wins
      '{"\\u0062":1,"a":2}', // escaped name
      '{"é":1,"z":2,"😀":3,"\uff61":4}', // non-ASCII names: code-unit order
      '["\\u00e9","\\/","\\u001F","\\u001f","\\u0008"]', // escapes JSON.stringify writes differently
      '[1.0,1e21,-0,0.1,1E-7,123456789012345678,-0.0]', // numbers ECMAScript writes differently
      ' {"a" : [ true , false , null ] } ',
      '{}',
      '[]',
    ];
    for (const text of cases) expect(written(Buffer.from(text))).toBe(reference(Buffer.from(text)));
    expect(written(Buffer.from('[1.0,1e21,-0]'))).toBe('[1,1e+21,0]');
  });
});

describe('chainHashOfBytes', () => {
  it('equals chainHash over the decoded fields', () => {
    const text = fc.string({ unit: 'binary', maxLength: 20 });
    fc.assert(
      fc.property(
        fc.record({ eventId: fc.uuid(), streamId: text, streamRevision: fc.nat(), type: text }),
        unicodeJson,
        json,
        fc.stringMatching(/^[0-9a-f]{64}$/),
        (ids, data, metadata, prevHash) => {
          const fields: HashedEventFields = { ...ids, data, metadata };
          const parts = [prevHash, ids.eventId, ids.streamId, ids.type, jsonbText(data), JSON.stringify(metadata)];
          const buffers = parts.map((part) => Buffer.from(part, 'utf8'));
          const offsets: number[] = [];
          let at = 3;
          for (const buffer of buffers) {
            offsets.push(at, at + buffer.length);
            at += buffer.length + 4;
          }
          const row = Buffer.concat(buffers.flatMap((buffer) => [Buffer.from('\u0000\u0000\u0000\u0001'), buffer]));
          const shifted = Buffer.concat([Buffer.from([9, 9, 9]), row.subarray(4)]);
          expect(chainHashOfBytes(new CanonicalJsonWriter(), shifted, offsets, ids.streamRevision)).toBe(
            chainHash(prevHash, fields),
          );
        },
      ),
      { numRuns: 1000 },
    );
  });
});
