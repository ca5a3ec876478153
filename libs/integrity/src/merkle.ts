import { createHash, hash } from 'node:crypto';

/**
 * RFC 6962 §2.1 Merkle tree hash over byte-string leaves:
 *   MTH({})        = SHA-256()
 *   MTH({d0})      = SHA-256(0x00 ‖ d0)
 *   MTH(D[n])      = SHA-256(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n])), k = the largest power of two smaller than n.
 * The ledger's leaves are the 32-byte event hashes (hex-decoded) in global-position order (docs/integrity.md).
 */
const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

export const EMPTY_TREE_ROOT = createHash('sha256').digest();

/** Prefix and 32-byte children written in place: one one-shot hash call per node (the verifier's hot path). */
const scratch = Buffer.alloc(65);
/** The first 33 bytes of `scratch`: 0x00 ‖ a 32-byte leaf. */
const leafScratch = scratch.subarray(0, 33);

export function merkleLeafHash(leaf: Uint8Array): Buffer {
  if (leaf.length !== 32) return createHash('sha256').update(LEAF_PREFIX).update(leaf).digest();
  scratch[0] = 0x00;
  scratch.set(leaf, 1);
  return hash('sha256', scratch.subarray(0, 33), 'buffer');
}

export function merkleNodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== 32 || right.length !== 32) {
    return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
  }
  scratch[0] = 0x01;
  scratch.set(left, 1);
  scratch.set(right, 33);
  return hash('sha256', scratch, 'buffer');
}

/** The largest power of two strictly smaller than n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH over the given leaves (recursive; for streams of leaves use MerkleTreeBuilder). */
export function merkleRoot(leaves: readonly Uint8Array[]): Buffer {
  return subtreeRoot(leaves, 0, leaves.length);
}

function subtreeRoot(leaves: readonly Uint8Array[], start: number, end: number): Buffer {
  const n = end - start;
  if (n === 0) return Buffer.from(EMPTY_TREE_ROOT);
  if (n === 1) return merkleLeafHash(leaves[start]!);
  const k = splitPoint(n);
  return merkleNodeHash(subtreeRoot(leaves, start, start + k), subtreeRoot(leaves, start + k, end));
}

/**
 * Computes MTH incrementally in O(log n) memory: it keeps the roots of the perfect subtrees (one per set bit of the
 * count, largest first); RFC 6962's root is those roots folded from the right. Nodes are kept as 32-character latin1
 * strings written into a scratch buffer: no Buffer per node, which keeps the verifier's garbage collector idle.
 */
export class MerkleTreeBuilder {
  private readonly stack: string[] = [];
  private size = 0;

  get count(): number {
    return this.size;
  }

  /** Adds one leaf (its data, e.g. a 32-byte event hash). */
  push(leaf: Uint8Array): void {
    this.pushNode(merkleLeafHash(leaf).toString('latin1'));
  }

  /** Adds one leaf given as hex (a stored event hash: its 32 bytes are the leaf). */
  pushHex(leafHex: string): void {
    scratch[0] = 0x00;
    if (leafHex.length !== 64 || scratch.write(leafHex, 1, 'hex') !== 32) {
      this.push(Buffer.from(leafHex, 'hex'));
      return;
    }
    this.pushNode(hash('sha256', leafScratch, 'binary'));
  }

  /** Adds leaves by their leaf hashes, SHA-256(0x00 ‖ leaf), 32 bytes each back to back (computed for another tree). */
  pushLeafHashes(leafHashes: Buffer): void {
    if (leafHashes.length % 32 !== 0) throw new RangeError('leaf hashes are 32 bytes each');
    for (let at = 0; at < leafHashes.length; at += 32) this.pushNode(leafHashes.toString('latin1', at, at + 32));
  }

  private pushNode(leafHash: string): void {
    let node = leafHash;
    // Merge equal-sized perfect subtrees: one merge per trailing 1-bit of the old size.
    for (let s = this.size; s & 1; s >>>= 1) node = nodeHashLatin1(this.stack.pop()!, node);
    this.stack.push(node);
    this.size += 1;
  }

  root(): Buffer {
    if (this.stack.length === 0) return Buffer.from(EMPTY_TREE_ROOT);
    let node = this.stack[this.stack.length - 1]!;
    for (let i = this.stack.length - 2; i >= 0; i--) node = nodeHashLatin1(this.stack[i]!, node);
    return Buffer.from(node, 'latin1');
  }

  reset(): void {
    this.stack.length = 0;
    this.size = 0;
  }
}

function nodeHashLatin1(left: string, right: string): string {
  scratch[0] = 0x01;
  scratch.write(left, 1, 'latin1');
  scratch.write(right, 33, 'latin1');
  return hash('sha256', scratch, 'binary'); // 'binary' is latin1
}

/** RFC 6962 §2.1.1 audit path for leaf `index` (0-based) in the tree over `leaves`, from the leaf upwards. */
export function merkleInclusionProof(leaves: readonly Uint8Array[], index: number): Buffer[] {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) {
    throw new RangeError(`leaf index ${index} is outside a tree of ${leaves.length} leaves`);
  }
  let start = 0;
  let end = leaves.length;
  let m = index;
  const siblings: Buffer[] = [];
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (m < k) {
      siblings.push(subtreeRoot(leaves, start + k, end));
      end = start + k;
    } else {
      siblings.push(subtreeRoot(leaves, start, start + k));
      start += k;
      m -= k;
    }
  }
  // Collected from the root down; the audit path runs from the leaf up.
  return siblings.reverse();
}

/**
 * Verifies an audit path (RFC 9162 §2.1.3.2, the same tree as RFC 6962): true when `leaf` at `index` in a tree of
 * `size` leaves has root `root`.
 */
export function verifyMerkleInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!Number.isInteger(index) || !Number.isInteger(size) || index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let node: Buffer = merkleLeafHash(leaf);
  for (const sibling of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      node = merkleNodeHash(sibling, node);
      // A right-edge node with no sibling at this level: climb until it is a right child (or the root).
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      node = merkleNodeHash(node, sibling);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && Buffer.from(root).equals(node);
}
