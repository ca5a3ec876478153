import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { MerkleLevels } from './merkle-levels.js';
import { merkleInclusionProof, merkleRoot } from './merkle.js';

const leaves = (n: number) => Array.from({ length: n }, (_, i) => createHash('sha256').update(String(i)).digest());

describe('MerkleLevels', () => {
  it('gives the RFC 6962 root and the same audit paths as merkleInclusionProof for any size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.nat(), (n, pick) => {
        const data = leaves(n);
        const tree = new MerkleLevels(data);
        const index = pick % n;
        expect(tree.root().equals(merkleRoot(data))).toBe(true);
        expect(tree.auditPath(index).map((b) => b.toString('hex'))).toEqual(
          merkleInclusionProof(data, index).map((b) => b.toString('hex')),
        );
      }),
    );
  });
});
