import { describe, expect, it } from '@jest/globals';
import { canonicalJson, MerkleTreeBuilder, verifyMerkleInclusion } from '@audit-ledger/integrity';
import { createHash } from 'node:crypto';
import { InclusionTexts } from './inclusion-texts.js';

const CHECKPOINT = 'ab'.repeat(32);

function treeOf(count: number): { hex: Buffer; tree: InclusionTexts } {
  const hashes = Array.from({ length: count }, (_, i) => createHash('sha256').update(`${count}:${i}`).digest('hex'));
  const hex = Buffer.from(hashes.join(''), 'latin1');
  return { hex, tree: new InclusionTexts({ count, source: () => hex, offset: (i) => i * 64 }, CHECKPOINT) };
}

describe('InclusionTexts', () => {
  it.each([1, 2, 3, 5, 8, 13, 64, 100, 1_000])(
    'writes each of %i leaves a canonical proof that verifies against the root and that it matches',
    (count) => {
      const { hex, tree } = treeOf(count);
      const builder = new MerkleTreeBuilder();
      for (let i = 0; i < count; i++) builder.pushHex(hex.toString('latin1', i * 64, i * 64 + 64));
      expect(tree.rootHex).toBe(builder.root().toString('hex'));
      const out = Buffer.alloc(tree.maxLength + 8);
      for (let i = 0; i < count; i++) {
        const end = tree.write(i, out, 5);
        expect(end - 5).toBeLessThanOrEqual(tree.maxLength);
        const text = out.toString('latin1', 5, end);
        const proof = JSON.parse(text) as { auditPath: string[]; checkpointHash: string; leafIndex: number };
        expect(canonicalJson(proof)).toBe(text);
        expect(proof).toMatchObject({ checkpointHash: CHECKPOINT, leafIndex: i, treeSize: count });
        const leaf = Buffer.from(hex.toString('latin1', i * 64, i * 64 + 64), 'hex');
        const path = proof.auditPath.map((node) => Buffer.from(node, 'hex'));
        expect(verifyMerkleInclusion(leaf, i, count, path, Buffer.from(tree.rootHex, 'hex'))).toBe(true);
        expect(tree.matches(i, out, 5, end)).toBe(true);
      }
    },
  );

  it('matches no other text: a byte changed anywhere, one more or one less, another leaf', () => {
    const { tree } = treeOf(13);
    const out = Buffer.alloc(tree.maxLength + 1);
    for (let i = 0; i < 13; i++) {
      const end = tree.write(i, out, 0);
      expect(tree.matches(i, out, 0, end - 1)).toBe(false);
      expect(tree.matches(i, out, 0, end + 1)).toBe(false);
      expect(tree.matches((i + 1) % 13, out, 0, end)).toBe(false);
      for (let at = 0; at < end; at++) {
        out[at] = out[at]! ^ 0x01;
        expect(tree.matches(i, out, 0, end)).toBe(false);
        out[at] = out[at]! ^ 0x01;
      }
    }
  });
});
