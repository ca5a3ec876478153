import fc from 'fast-check';
import { FrameReader, type ReadResult } from './frame-reader.js';

/** Feeds the chunks in order; returns the frames read and the first error, if any. */
function readAll(reader: FrameReader, chunks: Buffer[]): { frames: string[]; error?: string } {
  const frames: string[] = [];
  for (const chunk of chunks) {
    let offset = 0;
    while (offset < chunk.length) {
      const result: ReadResult = reader.read(chunk, offset);
      if (result.kind === 'error') return { frames, error: result.error.code };
      if (result.kind === 'partial') break;
      frames.push(result.text);
      offset = result.next;
    }
  }
  return { frames };
}

/** Nest's framing: the length is the JSON text's JavaScript string length. */
const frameOf = (text: string) => `${text.length}#${text}`;

function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => Math.floor(c * bytes.length)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    if (point > from) chunks.push(bytes.subarray(from, point));
    from = Math.max(from, point);
  }
  return chunks;
}

describe('FrameReader', () => {
  it('reads back every JSON text framed as Nest frames it, however the bytes are split', () => {
    const text = fc.jsonValue().map((value) => JSON.stringify(value) ?? 'null');
    const unicodeText = fc.string({ unit: 'grapheme', maxLength: 50 }).map((s) => JSON.stringify(s));
    fc.assert(
      fc.property(
        fc.array(fc.oneof(text, unicodeText), { minLength: 1, maxLength: 5 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }),
        (texts, cuts) => {
          const bytes = Buffer.from(texts.map(frameOf).join(''), 'utf8');
          const { frames, error } = readAll(new FrameReader(1024 * 1024), split(bytes, cuts));
          expect(error).toBeUndefined();
          expect(frames).toEqual(texts);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses an announced length over the maximum as soon as its digits exceed it, before any body byte', () => {
    const reader = new FrameReader(1000);
    expect(reader.read(Buffer.from('1001'), 0)).toMatchObject({
      kind: 'error',
      error: { code: 'TCP.FRAME_TOO_LARGE' },
    });
    expect(new FrameReader(1000).read(Buffer.from('1000'), 0)).toEqual({ kind: 'partial', heldDelta: 0 });
  });

  it('refuses a body whose bytes exceed the maximum even within the announced length', () => {
    const reader = new FrameReader(1000);
    const result = reader.read(Buffer.from(`1000#"${'€'.repeat(400)}`), 0);
    expect(result).toMatchObject({ kind: 'error', error: { code: 'TCP.FRAME_TOO_LARGE' } });
  });

  it.each([
    ['a sign', '-2#{}'],
    ['a letter', '2a#{}'],
    ['nothing before #', '#{}'],
    ['a zero length', '0#'],
    ['a length ending inside a character', '2#"😀"'],
  ])('refuses a frame with %s', (_, text) => {
    expect(readAll(new FrameReader(1000), [Buffer.from(text)]).error).toBe('TCP.MALFORMED_FRAME');
  });

  it.each([
    ['a stray continuation byte', [0x80]],
    ['an overlong encoding', [0xc0, 0xaf]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['a truncated sequence', [0xe2, 0x82, 0x22]],
    ['a byte no character starts with', [0xff]],
  ])('refuses %s as not UTF-8 when it arrives', (_, bad) => {
    const bytes = Buffer.concat([Buffer.from('10#"'), Buffer.from(bad)]);
    expect(readAll(new FrameReader(1000), [bytes]).error).toBe('TCP.MALFORMED_FRAME');
  });

  it('holds only the bytes of the frame in progress', () => {
    const fresh = new FrameReader(1000);
    const chunk = Buffer.from('2#{}10#{"a"');
    const first = fresh.read(chunk, 0);
    expect(first).toMatchObject({ kind: 'frame', text: '{}' });
    expect(fresh.read(chunk, (first as { next: number }).next)).toEqual({ kind: 'partial', heldDelta: 4 });
    expect(fresh.heldBytes).toBe(4);
  });
});
