import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import { checkCheckpointSignature, parseSealedCheckpoint, type SealedCheckpoint } from './checkpoint.js';
import { chainHash, GENESIS_HASH } from './hash-chain.js';
import { verifyMerkleInclusion } from './merkle.js';
import { keyIdOf, parsePublicKey, publicKeyRing, type PublicKeyRing } from './signing-keys.js';

/**
 * An evidence bundle (docs/integrity.md §8): one JSON document that proves, offline, that the events of one stream are
 * those the ledger recorded and sealed. Checked by `verifyEvidenceBundle` with no database.
 */
export const EVIDENCE_BUNDLE_FORMAT = 'audit-ledger-evidence/1';

export interface BundleEvent {
  eventId: string;
  type: string;
  streamId: string;
  streamRevision: number;
  /** Decimal string. */
  globalPosition: string;
  data: unknown;
  metadata: unknown;
  prevHash: string;
  hash: string;
  recordedAt: string;
  /** The proof that the event is a leaf of a signed checkpoint; null: after the last checkpoint, not yet sealed. */
  inclusion: BundleInclusion | null;
}

export interface BundleInclusion {
  /** The `checkpointHash` of the checkpoint whose range holds the event. */
  checkpointHash: string;
  leafIndex: number;
  treeSize: number;
  /** RFC 6962 audit path, hex, from the leaf upwards. */
  auditPath: string[];
}

export interface BundleCheckpoint extends SealedCheckpoint {
  /** Where the `CheckpointSealed` event itself is, decimal string (informative). */
  globalPosition: string;
}

export interface BundlePublicKey {
  keyId: string;
  /** Raw 32-byte Ed25519 public key, base64. */
  publicKey: string;
}

export interface BundleManifest {
  streamId: string;
  approvalId?: string;
  createdAt: string;
  eventCount: number;
  sealedEvents: number;
  unsealedEvents: number;
  checkpointCount: number;
  keyIds: string[];
  /** hex SHA-256(utf8(JCS({ events, checkpoints, publicKeys }))). */
  contentHash: string;
}

export interface EvidenceBundle {
  format: typeof EVIDENCE_BUNDLE_FORMAT;
  manifest: BundleManifest;
  events: BundleEvent[];
  checkpoints: BundleCheckpoint[];
  publicKeys: BundlePublicKey[];
}

export function bundleContentHash(bundle: Pick<EvidenceBundle, 'events' | 'checkpoints' | 'publicKeys'>): string {
  return createHash('sha256')
    .update(
      canonicalJson({ events: bundle.events, checkpoints: bundle.checkpoints, publicKeys: bundle.publicKeys }),
      'utf8',
    )
    .digest('hex');
}

/**
 * The 0-based leaf index of `position` in a checkpoint's range: its offset from `fromPosition` minus the absent
 * positions before it; null when the position is outside the range or absent.
 */
export function leafIndexInCheckpoint(
  checkpoint: Pick<SealedCheckpoint, 'fromPosition' | 'toPosition' | 'absent'>,
  position: bigint,
): number | null {
  const from = BigInt(checkpoint.fromPosition);
  if (position < from || position > BigInt(checkpoint.toPosition)) return null;
  let index = position - from;
  for (const [a, b] of checkpoint.absent) {
    const lo = BigInt(a);
    const hi = BigInt(b);
    if (position >= lo && position <= hi) return null;
    if (hi < position) index -= hi - lo + 1n;
  }
  return Number(index);
}

export interface BundleProblem {
  kind:
    | 'malformed'
    | 'content_hash'
    | 'broken_link'
    | 'edited'
    | 'bad_signature'
    | 'unknown_key'
    | 'untrusted_key'
    | 'checkpoint_chain'
    | 'inclusion';
  message: string;
  /** The event or checkpoint concerned, when there is one. */
  position?: string;
}

export interface BundleReport {
  ok: boolean;
  problems: BundleProblem[];
  streamId: string | null;
  eventsChecked: number;
  sealedEvents: number;
  unsealedEvents: number;
  checkpointsChecked: number;
  keyIds: string[];
}

export interface VerifyBundleOptions {
  /** When given, checkpoints must be signed by one of these keys (the bundle's own keys are then not trusted). */
  trustedKeys?: PublicKeyRing;
}

const isHex64 = (x: unknown): x is string => typeof x === 'string' && /^[0-9a-f]{64}$/.test(x);
const isPosition = (x: unknown): x is string => typeof x === 'string' && /^(0|[1-9]\d{0,18})$/.test(x);

/** Checks a bundle offline: manifest, hash links, checkpoint signatures and chain, and every inclusion proof. */
export function verifyEvidenceBundle(input: unknown, options: VerifyBundleOptions = {}): BundleReport {
  const problems: BundleProblem[] = [];
  const report = (streamId: string | null, extra: Partial<BundleReport> = {}): BundleReport => ({
    ok: problems.length === 0,
    problems,
    streamId,
    eventsChecked: 0,
    sealedEvents: 0,
    unsealedEvents: 0,
    checkpointsChecked: 0,
    keyIds: [],
    ...extra,
  });
  const bundle = input as Partial<EvidenceBundle> | null;
  if (
    typeof bundle !== 'object' ||
    bundle === null ||
    bundle.format !== EVIDENCE_BUNDLE_FORMAT ||
    !Array.isArray(bundle.events) ||
    !Array.isArray(bundle.checkpoints) ||
    !Array.isArray(bundle.publicKeys) ||
    typeof bundle.manifest !== 'object' ||
    bundle.manifest === null
  ) {
    problems.push({ kind: 'malformed', message: `not an evidence bundle of format ${EVIDENCE_BUNDLE_FORMAT}` });
    return report(null);
  }
  const { manifest, events, checkpoints, publicKeys } = bundle as EvidenceBundle;
  const streamId = typeof manifest.streamId === 'string' ? manifest.streamId : null;

  // Keys: the bundle's own, unless trusted keys are given.
  let ring: PublicKeyRing;
  try {
    ring =
      options.trustedKeys ??
      publicKeyRing(
        publicKeys.map((entry) => {
          const key = parsePublicKey(entry.publicKey);
          if (keyIdOf(key) !== entry.keyId) throw new Error(`public key ${entry.keyId} does not have that key id`);
          return key;
        }),
      );
  } catch (error) {
    problems.push({ kind: 'malformed', message: `public keys: ${(error as Error).message}` });
    return report(streamId);
  }

  // Checkpoints: hash, signature, chain between consecutive ones.
  const byHash = new Map<string, SealedCheckpoint>();
  let previous: SealedCheckpoint | undefined;
  for (const raw of checkpoints) {
    const checkpoint = parseSealedCheckpoint(raw);
    const position = isPosition(raw?.fromPosition) ? raw.fromPosition : undefined;
    if (!checkpoint) {
      problems.push({ kind: 'malformed', message: 'a checkpoint is malformed', ...(position ? { position } : {}) });
      continue;
    }
    const signature = checkCheckpointSignature(checkpoint, ring);
    if (signature) {
      const kind =
        signature.kind === 'unknown_key' ? (options.trustedKeys ? 'untrusted_key' : 'unknown_key') : 'bad_signature';
      const message =
        signature.kind === 'wrong_checkpoint_hash'
          ? `checkpoint ${checkpoint.fromPosition}–${checkpoint.toPosition}: its fields hash to ${signature.expected}, not ${signature.actual}`
          : signature.kind === 'unknown_key'
            ? `checkpoint ${checkpoint.fromPosition}–${checkpoint.toPosition} is signed by key ${signature.keyId}, which is not ${options.trustedKeys ? 'trusted' : 'in the bundle'}`
            : `checkpoint ${checkpoint.fromPosition}–${checkpoint.toPosition}: the signature does not verify with key ${signature.keyId}`;
      problems.push({ kind, message, position: checkpoint.fromPosition });
    }
    if (
      previous &&
      BigInt(previous.toPosition) + 1n === BigInt(checkpoint.fromPosition) &&
      checkpoint.previousCheckpointHash !== previous.checkpointHash
    ) {
      problems.push({
        kind: 'checkpoint_chain',
        message: `checkpoint ${checkpoint.fromPosition}–${checkpoint.toPosition} does not link to the one before it`,
        position: checkpoint.fromPosition,
      });
    }
    byHash.set(checkpoint.checkpointHash, checkpoint);
    previous = checkpoint;
  }

  // Events: one stream, revisions from 0, hash links, inclusion in a signed checkpoint.
  let expectedPrev = GENESIS_HASH;
  let expectedRevision = 0;
  let sealed = 0;
  let unsealed = 0;
  for (const event of events) {
    const position = isPosition(event?.globalPosition) ? event.globalPosition : undefined;
    const at = position ? { position } : {};
    if (
      typeof event !== 'object' ||
      event === null ||
      !position ||
      typeof event.eventId !== 'string' ||
      typeof event.type !== 'string' ||
      !isHex64(event.prevHash) ||
      !isHex64(event.hash)
    ) {
      problems.push({ kind: 'malformed', message: 'an event is malformed', ...at });
      continue;
    }
    if (event.streamId !== streamId) {
      problems.push({ kind: 'malformed', message: `event at ${position} is of stream ${event.streamId}`, ...at });
    }
    if (event.streamRevision !== expectedRevision) {
      problems.push({
        kind: 'broken_link',
        message: `event at ${position} has revision ${event.streamRevision}, expected ${expectedRevision} (an event is missing or out of order)`,
        ...at,
      });
    }
    if (event.prevHash !== expectedPrev) {
      problems.push({
        kind: 'broken_link',
        message: `event at ${position} links to ${event.prevHash}, not to the hash of the event before it (${expectedPrev})`,
        ...at,
      });
    }
    let recomputed: string | undefined;
    try {
      recomputed = chainHash(event.prevHash, event);
    } catch (error) {
      problems.push({ kind: 'malformed', message: `event at ${position}: ${(error as Error).message}`, ...at });
    }
    if (recomputed !== undefined && recomputed !== event.hash) {
      problems.push({
        kind: 'edited',
        message: `event at ${position} (${event.type}, revision ${event.streamRevision}) hashes to ${recomputed}, not to its recorded hash ${event.hash}`,
        ...at,
      });
    }
    expectedPrev = event.hash;
    expectedRevision = event.streamRevision + 1;

    if (event.inclusion === null || event.inclusion === undefined) {
      unsealed += 1;
      continue;
    }
    const inclusion = event.inclusion;
    const checkpoint = byHash.get(inclusion.checkpointHash);
    if (!checkpoint) {
      problems.push({
        kind: 'inclusion',
        message: `event at ${position} names checkpoint ${inclusion.checkpointHash}, which is not in the bundle`,
        ...at,
      });
      continue;
    }
    const leafIndex = leafIndexInCheckpoint(checkpoint, BigInt(position));
    const path = Array.isArray(inclusion.auditPath) ? inclusion.auditPath : [];
    if (
      leafIndex === null ||
      leafIndex !== inclusion.leafIndex ||
      inclusion.treeSize !== checkpoint.count ||
      !path.every(isHex64) ||
      !verifyMerkleInclusion(
        Buffer.from(event.hash, 'hex'),
        leafIndex,
        checkpoint.count,
        path.map((node) => Buffer.from(node, 'hex')),
        Buffer.from(checkpoint.merkleRoot, 'hex'),
      )
    ) {
      problems.push({
        kind: 'inclusion',
        message: `event at ${position}: the inclusion proof does not lead to the signed root of checkpoint ${checkpoint.fromPosition}–${checkpoint.toPosition}`,
        ...at,
      });
      continue;
    }
    sealed += 1;
  }
  // Last, so that a more precise problem is named first.
  if (manifest.eventCount !== events.length || manifest.checkpointCount !== checkpoints.length) {
    problems.push({
      kind: 'malformed',
      message: 'the manifest does not count the events or checkpoints in the bundle',
    });
  }
  const contentHash = bundleContentHash({ events, checkpoints, publicKeys });
  if (contentHash !== manifest.contentHash) {
    problems.push({
      kind: 'content_hash',
      message: `the manifest's contentHash ${String(manifest.contentHash)} does not match the content (${contentHash})`,
    });
  }
  return report(streamId, {
    eventsChecked: events.length,
    sealedEvents: sealed,
    unsealedEvents: unsealed,
    checkpointsChecked: checkpoints.length,
    keyIds: [...ring.keys()],
  });
}
