import { csvField, csvRecord } from './csv.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { containsPattern } from './where.js';

describe('RFC 4180 fields', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['line1\nline2', '"line1\nline2"'],
    ['cr\r', '"cr\r"'],
    [' padded', '" padded"'],
    ['', ''],
  ])('%j is written as %j', (value, written) => {
    expect(csvField(value)).toBe(written);
  });

  it('writes null as an empty field, dates as ISO instants, objects as JSON, records with CRLF', () => {
    expect(csvRecord([null, undefined, new Date('2026-11-23T10:00:00Z'), { a: 1 }, 42, false])).toBe(
      ',,2026-11-23T10:00:00.000Z,"{""a"":1}",42,false\r\n',
    );
  });
});

describe('keyset cursors', () => {
  it('round-trips and refuses what the API did not issue', () => {
    const cursor = { time: '2026-11-23T10:00:00.123456Z', key: '42' };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
    for (const text of ['', 'not-a-cursor', Buffer.from('["2026-11-23", "1"]').toString('base64url')])
      expect(decodeCursor(text)).toBeUndefined();
  });
});

describe('free-text patterns', () => {
  it('takes %, _ and \\ literally', () => {
    expect(containsPattern('100%_a\\b')).toBe('%100\\%\\_a\\\\b%');
  });
});
