import { sealCheckpoint } from './checkpoint.js';
import {
  bundleContentHash,
  EVIDENCE_BUNDLE_FORMAT,
  leafIndexInCheckpoint,
  verifyEvidenceBundle,
  type BundleEvent,
  type EvidenceBundle,
} from './evidence-bundle.js';
import { chainHash, GENESIS_HASH } from './hash-chain.js';
import { merkleInclusionProof, merkleRoot } from './merkle.js';
import { generateSigningKeyPair, parseSigningKey, rawPublicKey } from './signing-keys.js';

function aBundle(): EvidenceBundle {
  const key = parseSigningKey(generateSigningKeyPair().privateKeyPem);
  // Positions 1..5, 3 absent; the stream holds positions 1, 4 and 5; position 2 is another stream's.
  const positions = [1n, 2n, 4n, 5n];
  let prev = GENESIS_HASH;
  let revision = 0;
  const all: { position: bigint; hash: string; mine?: Omit<BundleEvent, 'inclusion'> }[] = [];
  for (const position of positions) {
    const mine = position !== 2n;
    const fields = {
      eventId: `00000000-0000-4000-8000-00000000000${position}`,
      streamId: mine ? 'approval-A' : 'approval-B',
      streamRevision: mine ? revision : 0,
      type: 'ExecutionLogged',
      data: { executionId: `E${position}` },
      metadata: {},
    };
    const prevHash = mine ? prev : GENESIS_HASH;
    const hash = chainHash(prevHash, fields);
    all.push({
      position,
      hash,
      ...(mine
        ? {
            mine: {
              ...fields,
              globalPosition: String(position),
              prevHash,
              hash,
              recordedAt: '2026-01-01T00:00:00.000Z',
            },
          }
        : {}),
    });
    if (mine) {
      prev = hash;
      revision += 1;
    }
  }
  const leaves = all.map((e) => Buffer.from(e.hash, 'hex'));
  const checkpoint = sealCheckpoint(
    {
      fromPosition: '1',
      toPosition: '5',
      count: 4,
      merkleRoot: merkleRoot(leaves).toString('hex'),
      previousCheckpointHash: '0'.repeat(64),
      sealedAt: '2026-01-01T00:00:01.000Z',
      absent: [['3', '3']],
    },
    key,
  );
  const events: BundleEvent[] = all.flatMap((e, index) =>
    e.mine
      ? [
          {
            ...e.mine,
            inclusion: {
              checkpointHash: checkpoint.checkpointHash,
              leafIndex: index,
              treeSize: 4,
              auditPath: merkleInclusionProof(leaves, index).map((n) => n.toString('hex')),
            },
          },
        ]
      : [],
  );
  const checkpoints = [{ ...checkpoint, globalPosition: '6' }];
  const publicKeys = [{ keyId: key.keyId, publicKey: rawPublicKey(key.publicKey).toString('base64') }];
  return {
    format: EVIDENCE_BUNDLE_FORMAT,
    manifest: {
      streamId: 'approval-A',
      createdAt: '2026-01-01T00:00:02.000Z',
      eventCount: 3,
      sealedEvents: 3,
      unsealedEvents: 0,
      checkpointCount: 1,
      keyIds: [key.keyId],
      contentHash: bundleContentHash({ events, checkpoints, publicKeys }),
    },
    events,
    checkpoints,
    publicKeys,
  };
}

describe('evidence bundle', () => {
  it('computes leaf indexes past absent positions', () => {
    const range = { fromPosition: '10', toPosition: '20', absent: [['12', '13']] as [string, string][] };
    expect(leafIndexInCheckpoint(range, 11n)).toBe(1);
    expect(leafIndexInCheckpoint(range, 12n)).toBeNull();
    expect(leafIndexInCheckpoint(range, 14n)).toBe(2);
    expect(leafIndexInCheckpoint(range, 21n)).toBeNull();
  });

  it('verifies an intact bundle', () => {
    expect(verifyEvidenceBundle(aBundle())).toMatchObject({ ok: true, sealedEvents: 3, checkpointsChecked: 1 });
  });

  it('names an edited event before the manifest', () => {
    const bundle = aBundle();
    bundle.events[1]!.data = { executionId: 'forged' };
    const report = verifyEvidenceBundle(bundle);
    expect(report.problems[0]).toMatchObject({ kind: 'edited', position: '4' });
    expect(report.problems.at(-1)).toMatchObject({ kind: 'content_hash' });
  });

  it('refuses a proof moved to another position, a forged root, and a dropped event', () => {
    const moved = aBundle();
    moved.events[2]!.globalPosition = '3';
    expect(verifyEvidenceBundle(moved).problems[0]).toMatchObject({ kind: 'inclusion', position: '3' });
    const forged = aBundle();
    forged.checkpoints[0]!.merkleRoot = 'f'.repeat(64);
    expect(verifyEvidenceBundle(forged).problems[0]).toMatchObject({ kind: 'bad_signature' });
    const dropped = aBundle();
    dropped.events.splice(1, 1);
    expect(verifyEvidenceBundle(dropped).problems[0]).toMatchObject({ kind: 'broken_link', position: '5' });
  });
});
