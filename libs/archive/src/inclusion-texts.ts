import { merkleLeafHash, merkleNodeHash } from '@audit-ledger/integrity';

/**
 * One checkpoint's RFC 6962 tree over its leaves (32-byte event hashes), every level kept as hex, and each leaf's
 * inclusion proof as the archive files hold it: the RFC 8785 text of `{auditPath, checkpointHash, leafIndex,
 * treeSize}`. Two hashes per leaf in all; a proof costs no hashing, only copying its siblings' hex (written by the
 * archive writer, compared byte for byte by the archive file check).
 */
export class InclusionTexts {
  /** The levels below the root, each its nodes' hex back to back (64 bytes a node), leaf hashes first. */
  private readonly levels: Buffer[] = [];
  private readonly counts: number[] = [];
  readonly rootHex: string;
  private readonly tail: Buffer;
  private readonly size: Buffer;
  /** The longest proof's length in bytes. */
  readonly maxLength: number;

  constructor(leaves: readonly Uint8Array[], checkpointHash: string) {
    if (leaves.length === 0) throw new RangeError('a tree of no leaves has no audit paths');
    let level = leaves.map((leaf) => merkleLeafHash(leaf));
    while (level.length > 1) {
      this.levels.push(Buffer.from(Buffer.concat(level).toString('hex'), 'latin1'));
      this.counts.push(level.length);
      const up: Buffer[] = [];
      for (let i = 0; i + 1 < level.length; i += 2) up.push(merkleNodeHash(level[i]!, level[i + 1]!));
      if (level.length % 2 === 1) up.push(level[level.length - 1]!);
      level = up;
    }
    this.rootHex = level[0]!.toString('hex');
    this.tail = Buffer.from(`],"checkpointHash":"${checkpointHash}","leafIndex":`, 'latin1');
    this.size = Buffer.from(`,"treeSize":${leaves.length}}`, 'latin1');
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
        out.set(this.levels[depth]!.subarray(sibling * 64, sibling * 64 + 64), w);
        w += 64;
        out[w++] = 0x22;
      }
      i >>= 1;
    }
    const tail = this.tail;
    for (let k = 0; k < tail.length; k++) out[w++] = tail[k]!;
    const digits = String(index);
    for (let k = 0; k < digits.length; k++) out[w++] = digits.charCodeAt(k);
    const size = this.size;
    for (let k = 0; k < size.length; k++) out[w++] = size[k]!;
    return w;
  }
}

const OPEN = Buffer.from('{"auditPath":[', 'latin1');
