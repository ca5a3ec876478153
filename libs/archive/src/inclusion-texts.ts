import { hash } from 'node:crypto';

/** Where a tree's leaves (32-byte event hashes, as 64 lowercase hex digits) are: leaf i at `offset(i)` in `source(i)`. */
export interface HexLeaves {
  count: number;
  source(i: number): Uint8Array;
  offset(i: number): number;
}

/**
 * One checkpoint's RFC 6962 tree over its leaves (the event hashes), every level kept as hex, and each leaf's
 * inclusion proof as the archive files hold it: the RFC 8785 text of `{auditPath, checkpointHash, leafIndex,
 * treeSize}`. Two hashes per leaf in all, each one native call on a reused buffer with a latin1 string back (no Buffer
 * per node); a proof costs no hashing, only copying its siblings' hex (written by the archive writer, compared byte for
 * byte by the archive file check).
 */
export class InclusionTexts {
  /** The levels below the root, each its nodes' hex back to back (64 bytes a node), leaf hashes first. */
  private readonly levels: Buffer[] = [];
  private readonly counts: number[] = [];
  /** The leaf hashes, SHA-256(0x00 ‖ event hash), 32 bytes each back to back (an archive-wide tree reuses them). */
  readonly leafHashes: Buffer;
  readonly rootHex: string;
  private readonly tail: Buffer;
  private readonly size: Buffer;
  /** The longest proof's length in bytes. */
  readonly maxLength: number;

  constructor(leaves: HexLeaves, checkpointHash: string) {
    if (leaves.count === 0) throw new RangeError('a tree of no leaves has no audit paths');
    const scratch = Buffer.allocUnsafe(65);
    scratch[0] = 0x00;
    const leafScratch = scratch.subarray(0, 33);
    let level: string[] = new Array<string>(leaves.count);
    for (let i = 0; i < leaves.count; i++) {
      decodeHex32(leaves.source(i), leaves.offset(i), scratch);
      level[i] = hash('sha256', leafScratch, 'binary');
    }
    this.leafHashes = Buffer.from(level.join(''), 'latin1');
    scratch[0] = 0x01;
    while (level.length > 1) {
      const bytes = this.levels.length === 0 ? this.leafHashes : Buffer.from(level.join(''), 'latin1');
      this.levels.push(Buffer.from(bytes.toString('hex'), 'latin1'));
      this.counts.push(level.length);
      const up: string[] = new Array<string>((level.length + 1) >> 1);
      for (let i = 0; i + 1 < level.length; i += 2) {
        scratch.write(level[i]!, 1, 'latin1');
        scratch.write(level[i + 1]!, 33, 'latin1');
        up[i >> 1] = hash('sha256', scratch, 'binary');
      }
      if (level.length % 2 === 1) up[up.length - 1] = level[level.length - 1]!;
      level = up;
    }
    this.rootHex = Buffer.from(level[0]!, 'latin1').toString('hex');
    this.tail = Buffer.from(`],"checkpointHash":"${checkpointHash}","leafIndex":`, 'latin1');
    this.size = Buffer.from(`,"treeSize":${leaves.count}}`, 'latin1');
    this.maxLength = OPEN.length + this.levels.length * 67 + this.tail.length + 16 + this.size.length;
  }

  /** Writes the inclusion proof of leaf `index` as its canonical JSON text at `at` (room: maxLength); its end. */
  write(index: number, out: Buffer, at: number): number {
    let w = at;
    for (let k = 0; k < OPEN.length; k++) out[w++] = OPEN[k]!;
    let i = index;
    let first = true;
    for (let depth = 0; depth < this.levels.length; depth++) {
      const sibling = i ^ 1;
      if (sibling < this.counts[depth]!) {
        if (!first) out[w++] = 0x2c;
        first = false;
        out[w++] = 0x22;
        // One native copy of the sibling's 64 hex digits (about half the time of a byte loop for this length).
        w += this.levels[depth]!.copy(out, w, sibling * 64, sibling * 64 + 64);
        out[w++] = 0x22;
      }
      i >>= 1;
    }
    w += this.tail.copy(out, w);
    const digits = String(index);
    for (let k = 0; k < digits.length; k++) out[w++] = digits.charCodeAt(k);
    const size = this.size;
    for (let k = 0; k < size.length; k++) out[w++] = size[k]!;
    return w;
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
