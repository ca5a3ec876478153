import { isAscii, isUtf8 } from 'node:buffer';

/** Why a frame was refused: the client gets this code and message, then the connection is closed. */
export interface FrameError {
  code: 'TCP.FRAME_TOO_LARGE' | 'TCP.MALFORMED_FRAME';
  message: string;
}

export type ReadResult =
  /** A whole frame: its JSON text, its size in bytes, and where the next frame starts in the chunk. */
  | { kind: 'frame'; text: string; bytes: number; next: number }
  /** The chunk was used up in the middle of a frame: its bytes are held until the rest arrives. */
  | { kind: 'partial'; heldDelta: number }
  | { kind: 'error'; error: FrameError };

/** A length prefix never needs more digits than this (16 digits already exceed any settable frame size). */
const MAX_LENGTH_DIGITS = 16;
const HASH = 0x23;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
/** A held tail smaller than this share of its chunk is copied, so the chunk itself can be freed. */
const COPY_TAIL_BELOW = 0.5;

/**
 * The framing of Nest's TCP transport, `<length>#<json>`, where the length counts the JSON text's UTF-16 code units
 * (JavaScript string length), read from raw bytes with the frame size bounded before anything is buffered:
 * - the length prefix is decimal digits only, at most {@link MAX_LENGTH_DIGITS}, and is refused as soon as its value
 *   exceeds the maximum frame size (each code unit takes at least one UTF-8 byte, so such a frame cannot fit);
 * - the body's bytes are counted as they arrive and refused beyond the maximum frame size;
 * - the body must be valid UTF-8 whose characters end exactly at the announced length.
 * Memory held is the current frame's bytes, nothing else. One reader per connection; after an error it is spent.
 */
export class FrameReader {
  private digits = 0;
  private announced = 0;
  private inBody = false;
  private units = 0;
  private pendingContinuation = 0;
  /** Allowed range of the next continuation byte (narrower after E0, ED, F0, F4: no overlongs, no surrogates). */
  private continuationMin = 0x80;
  private continuationMax = 0xbf;
  private parts: Buffer[] = [];
  private bodyBytes = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** Whether a frame has begun (any byte of it received) and is not complete. */
  get inFrame(): boolean {
    return this.digits > 0 || this.inBody;
  }

  /** Body bytes held for the frame in progress. */
  get heldBytes(): number {
    return this.bodyBytes;
  }

  /** Drops whatever is held (the connection is going away). */
  clear(): void {
    this.parts = [];
    this.bodyBytes = 0;
    this.digits = 0;
    this.announced = 0;
    this.inBody = false;
    this.units = 0;
    this.pendingContinuation = 0;
    this.continuationMin = 0x80;
    this.continuationMax = 0xbf;
  }

  /** Reads from `chunk` at `offset`: up to the end of one frame, or to the end of the chunk. */
  read(chunk: Buffer, offset: number): ReadResult {
    let i = offset;
    if (!this.inBody) {
      for (; i < chunk.length; i++) {
        const byte = chunk[i]!;
        if (byte === HASH) {
          if (this.digits === 0)
            return this.fail('TCP.MALFORMED_FRAME', "a frame starts with its length: '#' came first");
          if (this.announced === 0) return this.fail('TCP.MALFORMED_FRAME', 'a frame of length 0 holds no packet');
          this.inBody = true;
          i++;
          break;
        }
        if (byte < DIGIT_0 || byte > DIGIT_9) {
          return this.fail(
            'TCP.MALFORMED_FRAME',
            `a frame is <length>#<json> with a decimal length; found byte 0x${byte.toString(16).padStart(2, '0')} ` +
              `in the length${this.digits === 0 ? '' : ` after ${this.digits} digit(s)`}`,
          );
        }
        this.digits++;
        this.announced = this.announced * 10 + (byte - DIGIT_0);
        if (this.announced > this.maxFrameBytes || this.digits > MAX_LENGTH_DIGITS) {
          return this.fail(
            'TCP.FRAME_TOO_LARGE',
            `the announced frame length exceeds the maximum frame size of ${this.maxFrameBytes} bytes`,
          );
        }
      }
      if (!this.inBody) return { kind: 'partial', heldDelta: 0 };
    }
    const start = i;
    if (this.pendingContinuation === 0) {
      const end = Math.min(chunk.length, i + (this.announced - this.units));
      if (isAscii(chunk.subarray(i, end))) {
        this.units += end - i;
        i = end;
      }
    }
    for (; i < chunk.length && !(this.units === this.announced && this.pendingContinuation === 0); i++) {
      const byte = chunk[i]!;
      if (this.pendingContinuation > 0) {
        if (byte < this.continuationMin || byte > this.continuationMax) return this.notUtf8();
        this.pendingContinuation--;
        this.continuationMin = 0x80;
        this.continuationMax = 0xbf;
        continue;
      }
      const sequence = utf8Sequence(byte);
      if (!sequence) return this.notUtf8();
      this.units += sequence.units;
      this.pendingContinuation = sequence.continuation;
      this.continuationMin = sequence.min;
      this.continuationMax = sequence.max;
      if (this.units > this.announced) {
        return this.fail(
          'TCP.MALFORMED_FRAME',
          `the announced length ${this.announced} ends inside a character: it does not match the JSON text`,
        );
      }
    }
    const taken = i - start;
    this.bodyBytes += taken;
    if (this.bodyBytes > this.maxFrameBytes) {
      return this.fail(
        'TCP.FRAME_TOO_LARGE',
        `the frame exceeds the maximum frame size of ${this.maxFrameBytes} bytes`,
      );
    }
    if (taken > 0) this.parts.push(this.keep(chunk, start, i));
    if (this.units < this.announced || this.pendingContinuation > 0) return { kind: 'partial', heldDelta: taken };
    const body = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.bodyBytes);
    const bytes = this.bodyBytes;
    this.clear();
    if (!isUtf8(body)) return this.notUtf8();
    return { kind: 'frame', text: body.toString('utf8'), bytes, next: i };
  }

  private keep(chunk: Buffer, start: number, end: number): Buffer {
    const slice = chunk.subarray(start, end);
    return slice.length < chunk.length * COPY_TAIL_BELOW ? Buffer.from(slice) : slice;
  }

  private notUtf8(): ReadResult {
    return this.fail('TCP.MALFORMED_FRAME', 'the frame is not valid UTF-8');
  }

  private fail(code: FrameError['code'], message: string): ReadResult {
    this.clear();
    return { kind: 'error', error: { code, message } };
  }
}

interface Utf8Sequence {
  /** UTF-16 code units of the character. */
  units: number;
  continuation: number;
  min: number;
  max: number;
}

const sequence = (units: number, continuation: number, min = 0x80, max = 0xbf): Utf8Sequence => ({
  units,
  continuation,
  min,
  max,
});
const ASCII = sequence(1, 0);
const TWO_BYTES = sequence(1, 1);
const THREE_BYTES = sequence(1, 2);
const THREE_BYTES_AFTER_E0 = sequence(1, 2, 0xa0); // no overlong encodings
const THREE_BYTES_AFTER_ED = sequence(1, 2, 0x80, 0x9f); // no encoded surrogates
const FOUR_BYTES = sequence(2, 3);
const FOUR_BYTES_AFTER_F0 = sequence(2, 3, 0x90); // no overlong encodings
const FOUR_BYTES_AFTER_F4 = sequence(2, 3, 0x80, 0x8f); // nothing above U+10FFFF

/** What a UTF-8 lead byte starts (RFC 3629), or undefined for a byte no character starts with. */
function utf8Sequence(lead: number): Utf8Sequence | undefined {
  if (lead < 0x80) return ASCII;
  if (lead >= 0xc2 && lead <= 0xdf) return TWO_BYTES;
  if (lead === 0xe0) return THREE_BYTES_AFTER_E0;
  if (lead === 0xed) return THREE_BYTES_AFTER_ED;
  if (lead >= 0xe1 && lead <= 0xef) return THREE_BYTES;
  if (lead === 0xf0) return FOUR_BYTES_AFTER_F0;
  if (lead === 0xf4) return FOUR_BYTES_AFTER_F4;
  if (lead >= 0xf1 && lead <= 0xf3) return FOUR_BYTES;
  return undefined;
}
