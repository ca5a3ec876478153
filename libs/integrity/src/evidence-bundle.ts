import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import { checkCheckpointSignature, parseSealedCheckpoint, type SealedCheckpoint } from './checkpoint.js';
import { chainHash, GENESIS_HASH } from './hash-chain.js';
import { verifyMerkleInclusion } from './merkle.js';
import { keyIdOf, parsePublicKey, publicKeyRing, type PublicKeyRing } from './signing-keys.js';

/**
 * An evidence bundle (docs/integrity.md §8): one JSON document that proves, offline, that the events of one stream
 * (`audit-ledger-evidence/1`), or of one global-position range across all streams (`audit-ledger-evidence-range/1`),
 * are those the ledger recorded and sealed. Checked by `verifyEvidenceBundle` with no database.
 */
export const EVIDENCE_BUNDLE_FORMAT = 'audit-ledger-evidence/1';
export const RANGE_EVIDENCE_BUNDLE_FORMAT = 'audit-ledger-evidence-range/1';

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

/** What every bundle's manifest says of its content, whatever its scope. */
export interface BundleCounts {
  createdAt: string;
  eventCount: number;
  sealedEvents: number;
  unsealedEvents: number;
  checkpointCount: number;
  keyIds: string[];
  /** hex SHA-256(utf8(JCS({ events, checkpoints, publicKeys }))). */
  contentHash: string;
}

export interface BundleManifest extends BundleCounts {
  streamId: string;
  approvalId?: string;
}

export interface EvidenceBundle {
  format: typeof EVIDENCE_BUNDLE_FORMAT;
  manifest: BundleManifest;
  events: BundleEvent[];
  checkpoints: BundleCheckpoint[];
  publicKeys: BundlePublicKey[];
}

export interface RangeBundleManifest extends BundleCounts {
  /** The inclusive global-position range, decimal strings. */
  fromPosition: string;
  toPosition: string;
}

/** Every event of a global range, whatever its stream, in position order (docs/integrity.md §8). */
export interface RangeEvidenceBundle {
  format: typeof RANGE_EVIDENCE_BUNDLE_FORMAT;
  manifest: RangeBundleManifest;
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
    | 'inclusion'
    /** Range bundles: a sealed position of the range has no event in the bundle. */
    | 'deleted'
    /** Range bundles: an event at a position its checkpoint sealed as absent. */
    | 'inserted'
    /** An event at a global position below 1, which the ledger never assigns. */
    | 'invalid_position';
  message: string;
  /** The event or checkpoint concerned, when there is one. */
  position?: string;
}

export interface BundleReport {
  ok: boolean;
  problems: BundleProblem[];
  /** The stream of a stream bundle (null for a range bundle). */
  streamId: string | null;
  /** The range of a range bundle (null for a stream bundle). */
  range: [string, string] | null;
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

/**
 * Checks a bundle offline: manifest, hash links, checkpoint signatures and chain, every inclusion proof, and for a
 * range bundle that every sealed position of the range is there.
 */
export function verifyEvidenceBundle(input: unknown, options: VerifyBundleOptions = {}): BundleReport {
  const problems: BundleProblem[] = [];
  const report = (extra: Partial<BundleReport> = {}): BundleReport => ({
    ok: problems.length === 0,
    problems,
    streamId: null,
    range: null,
    eventsChecked: 0,
    sealedEvents: 0,
    unsealedEvents: 0,
    checkpointsChecked: 0,
    keyIds: [],
    ...extra,
  });
  const bundle = input as Partial<EvidenceBundle | RangeEvidenceBundle> | null;
  if (
    typeof bundle !== 'object' ||
    bundle === null ||
    (bundle.format !== EVIDENCE_BUNDLE_FORMAT && bundle.format !== RANGE_EVIDENCE_BUNDLE_FORMAT) ||
    !Array.isArray(bundle.events) ||
    !Array.isArray(bundle.checkpoints) ||
    !Array.isArray(bundle.publicKeys) ||
    typeof bundle.manifest !== 'object' ||
    bundle.manifest === null
  ) {
    problems.push({
      kind: 'malformed',
      message: `not an evidence bundle of format ${EVIDENCE_BUNDLE_FORMAT} or ${RANGE_EVIDENCE_BUNDLE_FORMAT}`,
    });
    return report();
  }
  const { events, checkpoints, publicKeys } = bundle as EvidenceBundle;
  const manifest = bundle.manifest as Partial<BundleManifest & RangeBundleManifest>;
  const scope: Partial<BundleReport> =
    bundle.format === EVIDENCE_BUNDLE_FORMAT
      ? { streamId: typeof manifest.streamId === 'string' ? manifest.streamId : null }
      : {
          range:
            isPosition(manifest.fromPosition) && isPosition(manifest.toPosition)
              ? [manifest.fromPosition, manifest.toPosition]
              : null,
        };

  const ring = bundleKeyRing(publicKeys, options, problems);
  if (!ring) return report(scope);
  const byHash = checkCheckpoints(checkpoints, ring, options, problems);

  const counts =
    bundle.format === EVIDENCE_BUNDLE_FORMAT
      ? checkStreamEvents(events, scope.streamId ?? null, byHash, problems)
      : checkRangeEvents(events, scope.range ?? null, checkpoints, byHash, problems);

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
  return report({
    ...scope,
    eventsChecked: events.length,
    sealedEvents: counts.sealed,
    unsealedEvents: counts.unsealed,
    checkpointsChecked: checkpoints.length,
    keyIds: [...ring.keys()],
  });
}

/** The bundle's own keys (each must hash to its key id), unless trusted keys are given. */
function bundleKeyRing(
  publicKeys: BundlePublicKey[],
  options: VerifyBundleOptions,
  problems: BundleProblem[],
): PublicKeyRing | null {
  try {
    return (
      options.trustedKeys ??
      publicKeyRing(
        publicKeys.map((entry) => {
          const key = parsePublicKey(entry.publicKey);
          if (keyIdOf(key) !== entry.keyId) throw new Error(`public key ${entry.keyId} does not have that key id`);
          return key;
        }),
      )
    );
  } catch (error) {
    problems.push({ kind: 'malformed', message: `public keys: ${(error as Error).message}` });
    return null;
  }
}

/** Checkpoints: hash, signature, chain between consecutive ones. Returns the well-formed ones by hash. */
function checkCheckpoints(
  checkpoints: unknown[],
  ring: PublicKeyRing,
  options: VerifyBundleOptions,
  problems: BundleProblem[],
): Map<string, SealedCheckpoint> {
  const byHash = new Map<string, SealedCheckpoint>();
  let previous: SealedCheckpoint | undefined;
  for (const raw of checkpoints as Partial<BundleCheckpoint>[]) {
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
  return byHash;
}

/** An event's shape, its hash recomputed from its content; false when it is malformed (already reported). */
function checkEventContent(event: BundleEvent, problems: BundleProblem[]): event is BundleEvent {
  const claimed = (event as { globalPosition?: unknown } | null)?.globalPosition;
  if (typeof claimed === 'string' && /^-?\d{1,19}$/.test(claimed) && BigInt(claimed) < 1n) {
    problems.push({
      kind: 'invalid_position',
      message: `event at ${claimed}: the ledger assigns global positions from 1, so this event was written around its sequence`,
      position: claimed,
    });
    return false;
  }
  const position = isPosition(event?.globalPosition) ? event.globalPosition : undefined;
  const at = position ? { position } : {};
  if (
    typeof event !== 'object' ||
    event === null ||
    !position ||
    typeof event.eventId !== 'string' ||
    typeof event.type !== 'string' ||
    typeof event.streamId !== 'string' ||
    !Number.isSafeInteger(event.streamRevision) ||
    event.streamRevision < 0 ||
    !isHex64(event.prevHash) ||
    !isHex64(event.hash)
  ) {
    problems.push({ kind: 'malformed', message: 'an event is malformed', ...at });
    return false;
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
  return true;
}

/** A sealed event's inclusion proof against its checkpoint's signed root: true when it holds. */
function checkInclusion(event: BundleEvent, byHash: Map<string, SealedCheckpoint>, problems: BundleProblem[]): boolean {
  const position = event.globalPosition;
  const inclusion = event.inclusion!;
  const checkpoint = byHash.get(inclusion.checkpointHash);
  if (!checkpoint) {
    problems.push({
      kind: 'inclusion',
      message: `event at ${position} names checkpoint ${inclusion.checkpointHash}, which is not in the bundle`,
      position,
    });
    return false;
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
      position,
    });
    return false;
  }
  return true;
}

/** A stream bundle: one stream, revisions from 0, hash links, inclusion in a signed checkpoint. */
function checkStreamEvents(
  events: BundleEvent[],
  streamId: string | null,
  byHash: Map<string, SealedCheckpoint>,
  problems: BundleProblem[],
): { sealed: number; unsealed: number } {
  let expectedPrev = GENESIS_HASH;
  let expectedRevision = 0;
  let sealed = 0;
  let unsealed = 0;
  for (const event of events) {
    if (!checkEventContent(event, problems)) continue;
    const position = event.globalPosition;
    const at = { position };
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
    expectedPrev = event.hash;
    expectedRevision = event.streamRevision + 1;
    if (event.inclusion === null || event.inclusion === undefined) unsealed += 1;
    else if (checkInclusion(event, byHash, problems)) sealed += 1;
  }
  return { sealed, unsealed };
}

/**
 * A range bundle: events in ascending positions inside the range; per stream, consecutive revisions linked by hash
 * (a stream's first event in the range links to an event before it, which the bundle does not hold: that link is not
 * checked, unless it is revision 0); inclusion proofs; and every position of the range that a checkpoint of the
 * bundle sealed as holding an event is present (a checkpoint's range is contiguous with the next one's, so none in
 * between can be left out).
 */
function checkRangeEvents(
  events: BundleEvent[],
  range: [string, string] | null,
  checkpoints: unknown[],
  byHash: Map<string, SealedCheckpoint>,
  reported: BundleProblem[],
): { sealed: number; unsealed: number } {
  // Reported by position, so that the first problem named is the lowest one (a left-out event before the broken
  // link it causes further on).
  const problems: BundleProblem[] = [];
  const counts = checkRangeEventsUnsorted(events, range, checkpoints, byHash, problems);
  const key = (problem: BundleProblem) => (problem.position === undefined ? -1n : BigInt(problem.position));
  problems.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  reported.push(...problems);
  return counts;
}

function checkRangeEventsUnsorted(
  events: BundleEvent[],
  range: [string, string] | null,
  checkpoints: unknown[],
  byHash: Map<string, SealedCheckpoint>,
  problems: BundleProblem[],
): { sealed: number; unsealed: number } {
  if (!range || BigInt(range[0]) > BigInt(range[1])) {
    problems.push({ kind: 'malformed', message: 'the manifest does not give a valid fromPosition..toPosition range' });
    return { sealed: 0, unsealed: 0 };
  }
  const from = BigInt(range[0]);
  const to = BigInt(range[1]);
  const streams = new Map<string, { revision: number; hash: string; position: string }>();
  const present = new Set<string>();
  let previousPosition = from - 1n;
  let sealed = 0;
  let unsealed = 0;
  for (const event of events) {
    if (!checkEventContent(event, problems)) continue;
    const position = event.globalPosition;
    const at = { position };
    const p = BigInt(position);
    if (p < from || p > to) {
      problems.push({
        kind: 'malformed',
        message: `event at ${position} lies outside the range ${from}..${to}`,
        ...at,
      });
    } else if (p <= previousPosition) {
      problems.push({ kind: 'malformed', message: `event at ${position} is out of position order`, ...at });
    }
    previousPosition = p > previousPosition ? p : previousPosition;
    present.add(position);
    const last = streams.get(event.streamId);
    if (last && event.streamRevision !== last.revision + 1) {
      problems.push({
        kind: 'broken_link',
        message: `stream ${event.streamId}: event at ${position} has revision ${event.streamRevision}, but the one before it in the range (at ${last.position}) has revision ${last.revision}: an event is missing or out of order`,
        ...at,
      });
    } else if (last && event.prevHash !== last.hash) {
      problems.push({
        kind: 'broken_link',
        message: `stream ${event.streamId}: event at ${position} links to ${event.prevHash}, not to the hash of revision ${last.revision} at ${last.position} (${last.hash})`,
        ...at,
      });
    } else if (!last && event.streamRevision === 0 && event.prevHash !== GENESIS_HASH) {
      problems.push({
        kind: 'broken_link',
        message: `stream ${event.streamId}: revision 0 at ${position} links to ${event.prevHash}, not to the genesis hash`,
        ...at,
      });
    }
    streams.set(event.streamId, { revision: event.streamRevision, hash: event.hash, position });
    if (event.inclusion === null || event.inclusion === undefined) unsealed += 1;
    else if (checkInclusion(event, byHash, problems)) sealed += 1;
  }
  checkRangeComplete(from, to, checkpoints, present, problems);
  return { sealed, unsealed };
}

/** Every position of [from, to] sealed by a checkpoint of the bundle as holding an event is in the bundle. */
function checkRangeComplete(
  from: bigint,
  to: bigint,
  checkpoints: unknown[],
  present: Set<string>,
  problems: BundleProblem[],
): void {
  const sealedRanges = checkpoints
    .map((raw) => parseSealedCheckpoint(raw))
    .filter((checkpoint): checkpoint is SealedCheckpoint => checkpoint !== null)
    .sort((a, b) => (BigInt(a.fromPosition) < BigInt(b.fromPosition) ? -1 : 1));
  const first = sealedRanges[0];
  if (first && BigInt(first.fromPosition) > from) {
    problems.push({
      kind: 'checkpoint_chain',
      message: `the first checkpoint of the bundle starts at ${first.fromPosition}, after the range's start ${from}: the checkpoint sealing ${from} is missing`,
      position: String(from),
    });
  }
  let previous: SealedCheckpoint | undefined;
  for (const checkpoint of sealedRanges) {
    const lo = BigInt(checkpoint.fromPosition);
    const hi = BigInt(checkpoint.toPosition);
    if (previous && BigInt(previous.toPosition) + 1n !== lo) {
      problems.push({
        kind: 'checkpoint_chain',
        message: `checkpoints ${previous.fromPosition}–${previous.toPosition} and ${checkpoint.fromPosition}–${checkpoint.toPosition} are not contiguous: a checkpoint between them is missing`,
        position: String(BigInt(previous.toPosition) + 1n),
      });
    }
    previous = checkpoint;
    const start = lo > from ? lo : from;
    const end = hi < to ? hi : to;
    const absent = checkpoint.absent.map(([a, b]) => [BigInt(a), BigInt(b)] as const);
    let absentIndex = 0;
    for (let q = start; q <= end; q++) {
      while (absentIndex < absent.length && absent[absentIndex]![1] < q) absentIndex += 1;
      const hole = absent[absentIndex];
      if (hole && hole[0] <= q) {
        if (present.has(String(q))) {
          problems.push({
            kind: 'inserted',
            message: `the bundle has an event at ${q}, which checkpoint ${checkpoint.fromPosition}–${checkpoint.toPosition} sealed as empty`,
            position: String(q),
          });
        }
        continue;
      }
      if (!present.has(String(q))) {
        problems.push({
          kind: 'deleted',
          message: `position ${q} is sealed by checkpoint ${checkpoint.fromPosition}–${checkpoint.toPosition} as holding an event, but the bundle has none there: an event was left out`,
          position: String(q),
        });
      }
    }
  }
}
