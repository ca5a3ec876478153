import { hash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';

/**
 * RFC 8785 canonical JSON written straight from UTF-8 JSON bytes into a reusable buffer, without building JavaScript
 * values or strings: the verifier's hot path over the rows PostgreSQL sends (binary COPY; `jsonb` arrives as its
 * text). Defined as, and property-tested to equal, `utf8(canonicalJson(JSON.parse(utf8-decoded input)))` for any
 * valid UTF-8 input (PostgreSQL guarantees it for text and jsonb). Whenever the input holds something the scanner does
 * not copy exactly (an escape JSON.stringify would write differently, a non-ASCII or escaped member name, duplicate
 * names, a number that is not a short integer is reformatted by `String(Number(x))`), it either handles it as the
 * reference does or falls back to the reference for that value.
 */
export class CanonicalJsonWriter {
  private out = Buffer.allocUnsafe(16 * 1024);
  private length = 0;
  private src: Uint8Array = EMPTY;
  private at = 0;
  private end = 0;
  private order = new Int32Array(64);

  reset(): void {
    this.length = 0;
  }

  /** The bytes written since the last reset (a view: valid until the next write). */
  bytes(): Buffer {
    return this.out.subarray(0, this.length);
  }

  /** Appends text made of code points below 0x100 (the fixed parts of a hash input, decimal numbers). */
  appendLatin1(text: string): void {
    this.reserve(text.length);
    this.length += this.out.write(text, this.length, 'latin1');
  }

  /** Appends bytes as they are. */
  appendBytes(src: Uint8Array, start: number, end: number): void {
    this.reserve(end - start);
    const out = this.out;
    if (end - start > 48) {
      out.set(src.subarray(start, end), this.length);
      this.length += end - start;
      return;
    }
    let at = this.length;
    for (let i = start; i < end; i++) out[at++] = src[i]!;
    this.length = at;
  }

  private appendByte(byte: number): void {
    if (this.length === this.out.length) this.reserve(1);
    this.out[this.length++] = byte;
  }

  /** Appends JSON.stringify(the UTF-8 string in src[start, end)). */
  appendJsonString(src: Uint8Array, start: number, end: number): void {
    for (let i = start; i < end; i++) {
      const b = src[i]!;
      if (b < 0x20 || b === QUOTE || b === BACKSLASH) {
        this.appendUtf8(
          JSON.stringify(Buffer.from(src.buffer, src.byteOffset, src.length).toString('utf8', start, end)),
        );
        return;
      }
    }
    this.appendByte(QUOTE);
    this.appendBytes(src, start, end);
    this.appendByte(QUOTE);
  }

  /** Appends canonicalJson(JSON.parse(the UTF-8 JSON text in src[start, end))); throws as JSON.parse does. */
  appendCanonicalJson(src: Uint8Array, start: number, end: number): void {
    const mark = this.length;
    this.src = src;
    this.at = start;
    this.end = end;
    try {
      this.value();
      this.skipWhitespace();
      if (this.at === end) return;
    } catch (error) {
      if (error !== FALLBACK) throw error;
    }
    this.length = mark;
    const text = Buffer.from(src.buffer, src.byteOffset, src.length).toString('utf8', start, end);
    this.appendUtf8(canonicalJson(JSON.parse(text)));
  }

  private appendUtf8(text: string): void {
    this.reserve(text.length * 3);
    this.length += this.out.write(text, this.length, 'utf8');
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.length + bytes));
    this.out.copy(bigger, 0, 0, this.length);
    this.out = bigger;
  }

  private skipWhitespace(): void {
    const src = this.src;
    let b = src[this.at];
    while (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) b = src[++this.at];
  }

  private value(): void {
    this.skipWhitespace();
    if (this.at >= this.end) throw FALLBACK;
    const b = this.src[this.at];
    if (b === QUOTE) this.string();
    else if (b === 0x7b) this.object();
    else if (b === 0x5b) this.array();
    else if (b === 0x74) this.literal(TRUE);
    else if (b === 0x66) this.literal(FALSE);
    else if (b === 0x6e) this.literal(NULL);
    else this.number();
  }

  private literal(word: Uint8Array): void {
    const src = this.src;
    if (this.at + word.length > this.end) throw FALLBACK;
    for (let k = 0; k < word.length; k++) if (src[this.at + k] !== word[k]) throw FALLBACK;
    this.appendBytes(src, this.at, this.at + word.length);
    this.at += word.length;
  }

  /**
   * Copies a string that is written exactly as JSON.stringify writes it: `"` and `\` escaped, \b \f \n \r \t in
   * their short forms, other code units below 0x20 as \u00xx (lowercase hex), everything else raw (valid UTF-8 holds
   * no lone surrogates, the only other thing JSON.stringify escapes). Any other escape: fallback.
   */
  private string(): void {
    const src = this.src;
    const end = this.end;
    const start = this.at;
    let i = start + 1;
    for (;;) {
      // Plain bytes (not `"`, `\`, or below 0x20) in one tight loop.
      while (i < end && PLAIN[src[i]!] === 1) i += 1;
      if (i >= end) throw FALLBACK;
      const b = src[i]!;
      if (b === QUOTE) break;
      if (b === BACKSLASH) {
        const e = src[i + 1];
        if (e === QUOTE || e === BACKSLASH || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
          i += 2;
        } else if (e === 0x75 && i + 6 <= end && isShortlessControlEscape(src, i + 2)) {
          i += 6;
        } else {
          throw FALLBACK;
        }
        continue;
      }
      if (b < 0x20) throw FALLBACK; // invalid JSON: the reference throws
      i += 1;
    }
    this.at = i + 1;
    this.appendBytes(src, start, i + 1);
  }

  private number(): void {
    const src = this.src;
    const start = this.at;
    let i = start;
    let plainInteger = true;
    for (; i < this.end; i++) {
      const b = src[i]!;
      if (b >= 0x30 && b <= 0x39) continue;
      if (b === 0x2d) {
        if (i !== start) plainInteger = false;
        continue;
      }
      if (b === 0x2b || b === 0x2e || b === 0x65 || b === 0x45) {
        plainInteger = false;
        continue;
      }
      break;
    }
    const digits = i - start - (src[start] === 0x2d ? 1 : 0);
    this.at = i;
    const first = src[i - digits];
    // -?(0|[1-9][0-9]{0,14}): exactly representable, and ECMAScript writes it as it is (but -0 as 0).
    if (plainInteger && digits >= 1 && digits <= 15 && (first !== 0x30 || digits === 1)) {
      if (digits === 1 && first === 0x30) this.appendByte(0x30);
      else this.appendBytes(src, start, i);
      return;
    }
    const literal = Buffer.from(src.buffer, src.byteOffset, src.length).toString('latin1', start, i);
    if (!JSON_NUMBER.test(literal)) throw FALLBACK;
    const number = Number(literal);
    if (!Number.isFinite(number)) throw FALLBACK;
    this.appendLatin1(String(number)); // ECMAScript Number::toString; String(-0) is "0"
  }

  private array(): void {
    const src = this.src;
    this.at += 1;
    this.appendByte(0x5b);
    this.skipWhitespace();
    if (src[this.at] === 0x5d) {
      this.at += 1;
      this.appendByte(0x5d);
      return;
    }
    for (;;) {
      this.value();
      this.skipWhitespace();
      const b = src[this.at++];
      if (b === 0x5d) break;
      if (b !== 0x2c) throw FALLBACK;
      this.appendByte(0x2c);
    }
    this.appendByte(0x5d);
  }

  /**
   * Members are written in the input's order, then, when that is not RFC 8785's, rewritten in place in order of
   * their names. Names must be printable ASCII without escapes, where byte order is UTF-16 code-unit order.
   */
  private object(): void {
    const src = this.src;
    this.at += 1;
    this.appendByte(0x7b);
    this.skipWhitespace();
    if (src[this.at] === 0x7d) {
      this.at += 1;
      this.appendByte(0x7d);
      return;
    }
    // Per member: name start/end in the input, member start/end in the output.
    const members: number[] = [];
    let sorted = true;
    for (;;) {
      this.skipWhitespace();
      if (src[this.at] !== QUOTE) throw FALLBACK;
      const nameStart = this.at + 1;
      let i = nameStart;
      while (i < this.end && NAME[src[i]!] === 1) i += 1;
      if (i >= this.end || src[i] !== QUOTE) throw FALLBACK; // the end, or a byte a fast name does not hold
      const nameEnd = i;
      const count = members.length / 4;
      if (count > 0) {
        const order = compareBytes(src, members[(count - 1) * 4]!, members[(count - 1) * 4 + 1]!, nameStart, nameEnd);
        if (order === 0) throw FALLBACK; // duplicate names: JSON.parse keeps the last one
        if (order > 0) sorted = false;
        this.appendByte(0x2c);
      }
      this.at = nameEnd + 1;
      this.skipWhitespace();
      if (src[this.at++] !== 0x3a) throw FALLBACK;
      const memberStart = this.length;
      this.appendBytes(src, nameStart - 1, nameEnd + 1);
      this.appendByte(0x3a);
      this.value();
      members.push(nameStart, nameEnd, memberStart, this.length);
      this.skipWhitespace();
      const b = src[this.at++];
      if (b === 0x7d) break;
      if (b !== 0x2c) throw FALLBACK;
    }
    if (!sorted) this.reorder(members);
    this.appendByte(0x7d);
  }

  private reorder(members: number[]): void {
    const src = this.src;
    const count = members.length / 4;
    if (count > 256) throw FALLBACK; // large objects: the reference sorts in O(n log n)
    // Insertion sort of member indexes by name (objects are small; jsonb's order is close to this one).
    const order = this.order.length >= count ? this.order : (this.order = new Int32Array(count * 2));
    for (let k = 0; k < count; k++) {
      const m = k * 4;
      let j = k - 1;
      while (j >= 0) {
        const o = order[j]! * 4;
        const c = compareBytes(src, members[o]!, members[o + 1]!, members[m]!, members[m + 1]!);
        if (c === 0) throw FALLBACK; // duplicate names: JSON.parse keeps the last one
        if (c < 0) break;
        order[j + 1] = order[j]!;
        j -= 1;
      }
      order[j + 1] = k;
    }
    // The members in order after the region, then moved back over it: no allocation, one memmove per member.
    const regionStart = members[2]!;
    const regionEnd = this.length;
    this.reserve(regionEnd - regionStart);
    const out = this.out;
    let at = regionEnd;
    for (let k = 0; k < count; k++) {
      const m = order[k]! * 4;
      if (k > 0) out[at++] = 0x2c;
      out.copyWithin(at, members[m + 2]!, members[m + 3]!);
      at += members[m + 3]! - members[m + 2]!;
    }
    out.copyWithin(regionStart, regionEnd, at);
  }
}

/**
 * The event hash (`chainHash`, docs/integrity.md §1) of a row whose fields are UTF-8 bytes: prevHash, eventId,
 * streamId, type, data (JSON text), metadata (JSON text) at `fields` = [start, end] pairs in that order. Writes
 * JCS({data, eventId, metadata, streamId, streamRevision, type}) (members already in code-unit order) after prevHash
 * and hashes it once. Property-tested to equal `chainHash` over the decoded fields. With `as-stored`, data and
 * metadata are taken as they are (the store keeps them as their canonical text): equal to `chainHash` when they are
 * canonical, and otherwise a hash the ledger never wrote.
 */
export function chainHashOfBytes(
  writer: CanonicalJsonWriter,
  row: Uint8Array,
  fields: ArrayLike<number>,
  streamRevision: number,
  payloads: 'canonicalise' | 'as-stored' = 'canonicalise',
): string {
  const asStored = payloads === 'as-stored';
  writer.reset();
  writer.appendBytes(row, fields[0]!, fields[1]!);
  writer.appendBytes(DATA, 0, DATA.length);
  if (asStored) writer.appendBytes(row, fields[8]!, fields[9]!);
  else writer.appendCanonicalJson(row, fields[8]!, fields[9]!);
  writer.appendBytes(EVENT_ID, 0, EVENT_ID.length);
  writer.appendJsonString(row, fields[2]!, fields[3]!);
  writer.appendBytes(METADATA, 0, METADATA.length);
  if (asStored) writer.appendBytes(row, fields[10]!, fields[11]!);
  else writer.appendCanonicalJson(row, fields[10]!, fields[11]!);
  writer.appendBytes(STREAM_ID, 0, STREAM_ID.length);
  writer.appendJsonString(row, fields[4]!, fields[5]!);
  writer.appendBytes(STREAM_REVISION, 0, STREAM_REVISION.length);
  writer.appendLatin1(canonicalJson(streamRevision));
  writer.appendBytes(TYPE, 0, TYPE.length);
  writer.appendJsonString(row, fields[6]!, fields[7]!);
  writer.appendBytes(END, 0, END.length);
  return hash('sha256', writer.bytes(), 'hex');
}

/** A Buffer (not a plain Uint8Array): the scanner's element loads then see one kind of array. */
const EMPTY = Buffer.alloc(0);
const DATA = Buffer.from('{"data":');
const EVENT_ID = Buffer.from(',"eventId":');
const METADATA = Buffer.from(',"metadata":');
const STREAM_ID = Buffer.from(',"streamId":');
const STREAM_REVISION = Buffer.from(',"streamRevision":');
const TYPE = Buffer.from(',"type":');
const END = Buffer.from('}');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');
/** 1 for the bytes a JSON string holds as they are: not `"`, `\`, or a control character. */
const PLAIN = new Uint8Array(256).map((_, b) => (b >= 0x20 && b !== QUOTE && b !== BACKSLASH ? 1 : 0));
/** 1 for the bytes of a member name the scanner orders itself: printable ASCII but `"` and `\`. */
const NAME = new Uint8Array(256).map((_, b) => (b >= 0x20 && b <= 0x7e && b !== QUOTE && b !== BACKSLASH ? 1 : 0));
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** Thrown inside the scanner to hand a value to the reference implementation. */
const FALLBACK = new Error('canonical JSON fallback');

function compareBytes(src: Uint8Array, aStart: number, aEnd: number, bStart: number, bEnd: number): number {
  const n = Math.min(aEnd - aStart, bEnd - bStart);
  for (let k = 0; k < n; k++) {
    const d = src[aStart + k]! - src[bStart + k]!;
    if (d !== 0) return d;
  }
  return aEnd - aStart - (bEnd - bStart);
}

/** \u00XX for a code unit below 0x20 that has no short escape (JSON.stringify's form: lowercase hex). */
function isShortlessControlEscape(src: Uint8Array, at: number): boolean {
  if (src[at] !== 0x30 || src[at + 1] !== 0x30) return false;
  const high = src[at + 2]!;
  const low = src[at + 3]!;
  const lowValue = low >= 0x30 && low <= 0x39 ? low - 0x30 : low >= 0x61 && low <= 0x66 ? low - 0x61 + 10 : -1;
  if (lowValue < 0 || (high !== 0x30 && high !== 0x31)) return false;
  const code = (high - 0x30) * 16 + lowValue;
  // \b \t \n \f \r have short forms that JSON.stringify uses instead.
  return code !== 0x08 && code !== 0x09 && code !== 0x0a && code !== 0x0c && code !== 0x0d;
}
