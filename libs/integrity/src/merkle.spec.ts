import {
  EMPTY_TREE_ROOT,
  merkleInclusionProof,
  merkleLeafHash,
  merkleRoot,
  MerkleTreeBuilder,
  verifyMerkleInclusion,
} from './merkle.js';

const hex = (s: string) => Buffer.from(s, 'hex');
const leavesOf = (n: number) => Array.from({ length: n }, (_, i) => Buffer.from([i & 0xff, i >> 8, 7]));

describe('Merkle tree (RFC 6962)', () => {
  // The test vectors of RFC 6962's reference implementation (certificate-transparency merkle_tree_test).
  const vectorLeaves = [
    '',
    '00',
    '10',
    '2021',
    '3031',
    '40414243',
    '5051525354555657',
    '606162636465666768696a6b6c6d6e6f',
  ];
  const vectorRoots = [
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
    '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
    'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
    '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
  ];

  it('matches the reference test vectors for 0..8 leaves', () => {
    expect(merkleRoot([]).toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(EMPTY_TREE_ROOT.toString('hex')).toBe(merkleRoot([]).toString('hex'));
    for (let n = 1; n <= vectorLeaves.length; n++) {
      expect(merkleRoot(vectorLeaves.slice(0, n).map(hex)).toString('hex')).toBe(vectorRoots[n - 1]);
    }
  });

  it('the streaming builder computes the same root as the recursive definition, for 0..70 leaves', () => {
    const builder = new MerkleTreeBuilder();
    const leaves = leavesOf(70);
    expect(builder.root().equals(merkleRoot([]))).toBe(true);
    leaves.forEach((leaf, i) => {
      builder.push(leaf);
      expect(builder.count).toBe(i + 1);
      expect(builder.root().toString('hex')).toBe(merkleRoot(leaves.slice(0, i + 1)).toString('hex'));
    });
  });

  it('leaves added by their leaf hashes, in batches, give the same root as leaves added one by one', () => {
    const leaves = leavesOf(70);
    const leafHashes = Buffer.concat(leaves.map((leaf) => merkleLeafHash(leaf)));
    for (const cut of [0, 1, 31, 64, 70]) {
      const builder = new MerkleTreeBuilder();
      builder.pushLeafHashes(leafHashes.subarray(0, cut * 32));
      builder.pushLeafHashes(leafHashes.subarray(cut * 32));
      expect(builder.count).toBe(70);
      expect(builder.root().toString('hex')).toBe(merkleRoot(leaves).toString('hex'));
    }
    expect(() => new MerkleTreeBuilder().pushLeafHashes(Buffer.alloc(33))).toThrow(RangeError);
  });

  it('inclusion proofs verify for every leaf of trees of 1..70 leaves, and fail for any flipped byte', () => {
    for (let n = 1; n <= 70; n++) {
      const leaves = leavesOf(n);
      const root = merkleRoot(leaves);
      for (let i = 0; i < n; i++) {
        const proof = merkleInclusionProof(leaves, i);
        expect(verifyMerkleInclusion(leaves[i]!, i, n, proof, root)).toBe(true);
        if (n > 1) expect(verifyMerkleInclusion(leaves[i]!, (i + 1) % n, n, proof, root)).toBe(false);
        expect(verifyMerkleInclusion(leaves[i]!, i, i, proof, root)).toBe(false);
      }
    }
  });

  it('a proof fails when any byte of the leaf, a proof node or the root flips', () => {
    const leaves = leavesOf(13);
    const root = merkleRoot(leaves);
    const flip = (b: Buffer, at: number) => {
      const copy = Buffer.from(b);
      copy[at] = copy[at]! ^ 0x01;
      return copy;
    };
    for (let i = 0; i < 13; i++) {
      const proof = merkleInclusionProof(leaves, i);
      for (let at = 0; at < leaves[i]!.length; at++) {
        expect(verifyMerkleInclusion(flip(leaves[i]!, at), i, 13, proof, root)).toBe(false);
      }
      proof.forEach((node, p) => {
        for (let at = 0; at < 32; at++) {
          const tampered = proof.map((other, q) => (q === p ? flip(node, at) : other));
          expect(verifyMerkleInclusion(leaves[i]!, i, 13, tampered, root)).toBe(false);
        }
      });
      for (let at = 0; at < 32; at++)
        expect(verifyMerkleInclusion(leaves[i]!, i, 13, proof, flip(root, at))).toBe(false);
    }
  });

  it('refuses an index outside the tree', () => {
    expect(() => merkleInclusionProof(leavesOf(3), 3)).toThrow(RangeError);
  });
});
