import { hash } from 'node:crypto';

/** Where a tree's leaves (32-byte event hashes, as 64 lowercase hex digits) are: leaf i at `offset(i)` in `source(i)`. */
export interface HexLeaves {
  count: number;
  source(i: number): Uint8Array;
  offset(i: number): number;
}

/**
 * One checkpoint's RFC 6962 tree over its leaves (the event hashes), and each leaf's inclusion proof as the archive
 * files hold it: the RFC 8785 text of `{auditPath, checkpointHash, leafIndex, treeSize}`. Two hashes per leaf in all,
 * each one native call on a reused buffer. Two leaves under one node share their audit path but for its first
 * sibling, so the text after that sibling (the siblings from the second level up, then `],"checkpointHash":…,
 * "leafIndex":`) is built once per such pair; a proof is then its first sibling's hex, that shared text, the leaf
 * index and the tree size: two native copies (written by the archive writer) or compares (the archive file check).
 */
export class InclusionTexts {
  /** The leaf hashes, SHA-256(0x00 ‖ event hash), 32 bytes each back to back (an archive-wide tree reuses them). */
  readonly leafHashes: Buffer;
  readonly rootHex: string;
  /** The longest proof's length in bytes. */
  readonly maxLength: number;
  private readonly count: number;
  /** The leaf hashes as hex, 64 bytes a leaf (each proof's first sibling). */
  private readonly leafHex: Buffer;
  /** For each pair of leaves (a node of the second level), the text after their first sibling. */
  private readonly shared: Buffer;
  private readonly sharedStarts: Int32Array;
  private readonly size: Buffer;

  constructor(leaves: HexLeaves, checkpointHash: string) {
    if (leaves.count === 0) throw new RangeError('a tree of no leaves has no audit paths');
    const count = leaves.count;
    this.count = count;
    const scratch = Buffer.allocUnsafe(65);
    scratch[0] = 0x00;
    const leafScratch = scratch.subarray(0, 33);
    const leafHashes = Buffer.allocUnsafe(count * 32);
    for (let i = 0; i < count; i++) {
      decodeHex32(leaves.source(i), leaves.offset(i), scratch);
      leafHashes.write(hash('sha256', leafScratch, 'binary'), i * 32, 'latin1');
    }
    this.leafHashes = leafHashes;
    // Every level below the root, as hex (64 bytes a node): the siblings of the audit paths.
    const hexLevels: Buffer[] = [];
    scratch[0] = 0x01;
    let level = leafHashes;
    let nodes = count;
    while (nodes > 1) {
      hexLevels.push(Buffer.from(level.toString('hex'), 'latin1'));
      const up = (nodes + 1) >> 1;
      const next = Buffer.allocUnsafe(up * 32);
      for (let i = 0; i + 1 < nodes; i += 2) {
        level.copy(scratch, 1, i * 32, i * 32 + 64);
        next.write(hash('sha256', scratch, 'binary'), i * 16, 'latin1');
      }
      if (nodes % 2 === 1) level.copy(next, (up - 1) * 32, (nodes - 1) * 32, nodes * 32);
      level = next;
      nodes = up;
    }
    this.rootHex = level.toString('hex', 0, 32);
    this.leafHex = hexLevels[0] ?? Buffer.alloc(0);
    // From the root down to the second level: each node's text is its sibling (if any) then its parent's text.
    let texts = Buffer.from(`],"checkpointHash":"${checkpointHash}","leafIndex":`, 'latin1');
    let starts = Int32Array.of(0, texts.length);
    for (let depth = hexLevels.length - 1; depth >= 1; depth--) {
      const hex = hexLevels[depth]!;
      const width = hex.length / 64;
      const lengths = new Int32Array(width + 1);
      for (let k = 0; k < width; k++) {
        lengths[k + 1] = lengths[k]! + ((k ^ 1) < width ? 67 : 0) + starts[(k >> 1) + 1]! - starts[k >> 1]!;
      }
      const below = Buffer.allocUnsafe(lengths[width]!);
      for (let k = 0; k < width; k++) {
        let w = lengths[k]!;
        const sibling = k ^ 1;
        if (sibling < width) {
          below[w++] = 0x2c;
          below[w++] = 0x22;
          w += hex.copy(below, w, sibling * 64, sibling * 64 + 64);
          below[w++] = 0x22;
        }
        texts.copy(below, w, starts[k >> 1]!, starts[(k >> 1) + 1]!);
      }
      texts = below;
      starts = lengths;
    }
    this.shared = texts;
    this.sharedStarts = starts;
    this.size = Buffer.from(`,"treeSize":${count}}`, 'latin1');
    let longest = 0;
    for (let k = 0; k + 1 < starts.length; k++) longest = Math.max(longest, starts[k + 1]! - starts[k]!);
    this.maxLength = OPEN.length + 66 + longest + 16 + this.size.length;
  }

  /** Writes the inclusion proof of leaf `index` as its canonical JSON text at `at` (room: maxLength); its end. */
  write(index: number, out: Buffer, at: number): number {
    let w = at;
    for (let k = 0; k < OPEN.length; k++) out[w++] = OPEN[k]!;
    const sibling = index ^ 1;
    let start = this.sharedStarts[index >> 1]!;
    if (sibling < this.count) {
      out[w++] = 0x22;
      w += this.leafHex.copy(out, w, sibling * 64, sibling * 64 + 64);
      out[w++] = 0x22;
    } else if (this.shared[start] === 0x2c) {
      start += 1; // no first sibling: the next one opens the list
    }
    w += this.shared.copy(out, w, start, this.sharedStarts[(index >> 1) + 1]!);
    const digits = String(index);
    for (let k = 0; k < digits.length; k++) out[w++] = digits.charCodeAt(k);
    const size = this.size;
    for (let k = 0; k < size.length; k++) out[w++] = size[k]!;
    return w;
  }

  /** True when src[start, end) is, byte for byte, the inclusion proof of leaf `index` (what `write` writes). */
  matches(index: number, src: Buffer, start: number, end: number): boolean {
    const sibling = index ^ 1;
    let from = this.sharedStarts[index >> 1]!;
    const to = this.sharedStarts[(index >> 1) + 1]!;
    const hasSibling = sibling < this.count;
    if (!hasSibling && this.shared[from] === 0x2c) from += 1;
    const digits = String(index);
    const size = this.size;
    if (end - start !== OPEN.length + (hasSibling ? 66 : 0) + (to - from) + digits.length + size.length) return false;
    let p = start;
    for (let k = 0; k < OPEN.length; k++) if (src[p++] !== OPEN[k]) return false;
    if (hasSibling) {
      if (src[p] !== 0x22 || src[p + 65] !== 0x22) return false;
      if (src.compare(this.leafHex, sibling * 64, sibling * 64 + 64, p + 1, p + 65) !== 0) return false;
      p += 66;
    }
    if (src.compare(this.shared, from, to, p, p + to - from) !== 0) return false;
    p += to - from;
    for (let k = 0; k < digits.length; k++) if (src[p++] !== digits.charCodeAt(k)) return false;
    for (let k = 0; k < size.length; k++) if (src[p++] !== size[k]) return false;
    return true;
  }
}

const OPEN = Buffer.from('{"auditPath":[', 'latin1');

/** Hex digit values, 0xff for anything that is not a lowercase hex digit (the ledger writes hashes in lowercase). */
const HEX = new Uint8Array(256).fill(0xff);
for (let d = 0; d < 10; d++) HEX[0x30 + d] = d;
for (let d = 0; d < 6; d++) HEX[0x61 + d] = 10 + d;

/** The 64 hex digits at src[at] as 32 bytes into out[1..33); throws on anything else. */
function decodeHex32(src: Uint8Array, at: number, out: Buffer): void {
  let bad = 0;
  for (let k = 0; k < 32; k++) {
    const hi = HEX[src[at + 2 * k]!]!;
    const lo = HEX[src[at + 2 * k + 1]!]!;
    bad |= hi | lo;
    out[1 + k] = (hi << 4) | lo;
  }
  if (bad > 15) throw new RangeError('an event hash that is not 64 lowercase hex digits');
}
