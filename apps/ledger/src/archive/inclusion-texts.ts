import { merkleLeafHash, merkleNodeHash } from '@audit-ledger/integrity';

/**
 * One checkpoint's RFC 6962 tree over its leaves (32-byte event hashes), every level kept as hex, and each leaf's
 * inclusion proof as the archive files hold it: the RFC 8785 text of `{auditPath, checkpointHash, leafIndex,
 * treeSize}`. Two hashes per leaf in all; a proof costs no hashing, only joining the siblings' hex (written by the
 * archive writer, compared byte for byte by the archive file check).
 */
export class InclusionTexts {
  /** The levels below the root, hex, leaf hashes first. */
  private readonly levels: string[][] = [];
  readonly rootHex: string;
  private readonly tail: string;
  private readonly size: string;

  constructor(leaves: readonly Uint8Array[], checkpointHash: string) {
    if (leaves.length === 0) throw new RangeError('a tree of no leaves has no audit paths');
    let level = leaves.map((leaf) => merkleLeafHash(leaf));
    while (level.length > 1) {
      this.levels.push(level.map((node) => node.toString('hex')));
      const up: Buffer[] = [];
      for (let i = 0; i + 1 < level.length; i += 2) up.push(merkleNodeHash(level[i]!, level[i + 1]!));
      if (level.length % 2 === 1) up.push(level[level.length - 1]!);
      level = up;
    }
    this.rootHex = level[0]!.toString('hex');
    this.tail = `],"checkpointHash":"${checkpointHash}","leafIndex":`;
    this.size = `,"treeSize":${leaves.length}}`;
  }

  /** The inclusion proof of leaf `index` as its canonical JSON text. */
  text(index: number): string {
    let text = '{"auditPath":[';
    let i = index;
    let first = true;
    for (const nodes of this.levels) {
      const sibling = i ^ 1;
      if (sibling < nodes.length) {
        text += first ? `"${nodes[sibling]}"` : `,"${nodes[sibling]}"`;
        first = false;
      }
      i >>= 1;
    }
    return `${text}${this.tail}${index}${this.size}`;
  }
}
