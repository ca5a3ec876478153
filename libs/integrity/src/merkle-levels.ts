import { merkleLeafHash, merkleNodeHash } from './merkle.js';

/**
 * Every level of an RFC 6962 tree kept in memory, so that the audit path of each leaf costs O(log n) instead of the
 * O(n) of `merkleInclusionProof` (used to prove every event of an archive). Built bottom-up by pairing neighbours; a
 * node left without a neighbour at the right edge moves up unchanged, which gives exactly the tree of RFC 6962 §2.1
 * (its split at the largest power of two is the same shape).
 */
export class MerkleLevels {
  private readonly levels: Buffer[][];

  constructor(leaves: readonly Uint8Array[]) {
    if (leaves.length === 0) throw new RangeError('a tree of no leaves has no audit paths');
    let level = leaves.map((leaf) => merkleLeafHash(leaf));
    this.levels = [level];
    while (level.length > 1) {
      const up: Buffer[] = [];
      for (let i = 0; i + 1 < level.length; i += 2) up.push(merkleNodeHash(level[i]!, level[i + 1]!));
      if (level.length % 2 === 1) up.push(level[level.length - 1]!);
      this.levels.push(up);
      level = up;
    }
  }

  get size(): number {
    return this.levels[0]!.length;
  }

  root(): Buffer {
    return this.levels[this.levels.length - 1]![0]!;
  }

  /** The RFC 6962 audit path of leaf `index`, from the leaf upwards (as `merkleInclusionProof` returns it). */
  auditPath(index: number): Buffer[] {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new RangeError(`leaf index ${index} is outside a tree of ${this.size} leaves`);
    }
    const path: Buffer[] = [];
    let i = index;
    for (let depth = 0; depth < this.levels.length - 1; depth++) {
      const level = this.levels[depth]!;
      const sibling = i ^ 1;
      if (sibling < level.length) path.push(level[sibling]!);
      i >>= 1;
    }
    return path;
  }
}
