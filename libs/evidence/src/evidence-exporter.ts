import { StreamNotFoundError, type EventStore, type RecordedEvent } from '@audit-ledger/event-store';
import {
  bundleContentHash,
  EVIDENCE_BUNDLE_FORMAT,
  RANGE_EVIDENCE_BUNDLE_FORMAT,
  leafIndexInCheckpoint,
  merkleInclusionProof,
  parseSealedCheckpoint,
  parseSigningKey,
  rawPublicKey,
  keyIdOf,
  type BundleCheckpoint,
  type BundleCounts,
  type BundleEvent,
  type BundlePublicKey,
  type EvidenceBundle,
  type RangeEvidenceBundle,
  type SealedCheckpoint,
} from '@audit-ledger/integrity';
import type { KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHECKPOINT_SEALED, CHECKPOINTS_STREAM } from './checkpoint-sealer.js';
import { integrityKeysDir, readPublicKeys, SIGNING_KEY_FILE_NAME } from './integrity-keys.js';
import { toWireEvent } from '@audit-ledger/event-store';

const PAGE = 5_000;

/** A stream read whole, in revision order (empty when it does not exist). */
export async function readWholeStream(store: EventStore, streamId: string): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for (;;) {
    const page = await store
      .readStream(streamId, { fromRevision: events.length, maxCount: PAGE })
      .catch((error: unknown) => {
        if (error instanceof StreamNotFoundError) return [];
        throw error;
      });
    events.push(...page);
    if (page.length < PAGE) return events;
  }
}

export interface StoredCheckpoint {
  checkpoint: SealedCheckpoint;
  globalPosition: bigint;
  recordedAt: Date;
}

/** Every well-formed checkpoint of the `checkpoints` stream, in order. */
export async function readCheckpoints(store: EventStore): Promise<StoredCheckpoint[]> {
  const out: StoredCheckpoint[] = [];
  for (const event of await readWholeStream(store, CHECKPOINTS_STREAM)) {
    if (event.type !== CHECKPOINT_SEALED) continue;
    const checkpoint = parseSealedCheckpoint(event.data);
    if (checkpoint) out.push({ checkpoint, globalPosition: event.globalPosition, recordedAt: event.recordedAt });
  }
  return out;
}

/** The last checkpoint, read backwards from the end of the `checkpoints` stream; null when none was sealed. */
export async function lastCheckpoint(store: EventStore): Promise<StoredCheckpoint | null> {
  const [event] = await store
    .readStream(CHECKPOINTS_STREAM, { direction: 'backwards', maxCount: 1 })
    .catch((error: unknown) => {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    });
  const checkpoint = event ? parseSealedCheckpoint(event.data) : null;
  return event && checkpoint
    ? { checkpoint, globalPosition: event.globalPosition, recordedAt: event.recordedAt }
    : null;
}

/** The event hashes (leaves) of a checkpoint's range, in global order. */
async function leavesOf(store: EventStore, checkpoint: SealedCheckpoint): Promise<{ hashes: Buffer[] }> {
  const to = BigInt(checkpoint.toPosition);
  let from = BigInt(checkpoint.fromPosition) - 1n;
  const hashes: Buffer[] = [];
  while (from < to) {
    const page = await store.readAll({ fromPosition: from, maxCount: PAGE });
    if (page.length === 0) break;
    for (const event of page) {
      if (event.globalPosition > to) return { hashes };
      hashes.push(Buffer.from(event.hash, 'hex'));
    }
    from = page[page.length - 1]!.globalPosition;
  }
  return { hashes };
}

/**
 * The public keys a bundle carries: the signing key's (LEDGER_SIGNING_KEY / _FILE / dataDir/keys/signing.key) and
 * every `*.pub` of the verification directory. Never generates a key.
 */
export function publicKeysOf(sources: {
  signingKey?: string | undefined;
  signingKeyFile?: string | undefined;
  verifyKeysDir?: string | undefined;
  dataDir: string;
}): KeyObject[] {
  const keys: KeyObject[] = [];
  const defaultFile = join(integrityKeysDir(sources.dataDir), SIGNING_KEY_FILE_NAME);
  const signingText =
    sources.signingKey ??
    (sources.signingKeyFile ? readFileSync(sources.signingKeyFile, 'utf8') : undefined) ??
    (existsSync(defaultFile) ? readFileSync(defaultFile, 'utf8') : undefined);
  if (signingText) keys.push(parseSigningKey(signingText).publicKey);
  keys.push(...readPublicKeys(sources.verifyKeysDir ?? integrityKeysDir(sources.dataDir)));
  return keys;
}

/** Inclusion proofs against the checkpoints whose ranges hold the events; remembers the checkpoints used. */
class InclusionProver {
  private readonly leaves = new Map<string, Buffer[]>();
  readonly used = new Map<string, StoredCheckpoint>();

  constructor(
    private readonly store: EventStore,
    private readonly checkpoints: StoredCheckpoint[],
  ) {}

  /** The proof for the event at `position`; null when no checkpoint seals it (after the last one). */
  async prove(position: bigint): Promise<BundleEvent['inclusion']> {
    const holder = this.checkpoints.find(
      (c) => BigInt(c.checkpoint.fromPosition) <= position && position <= BigInt(c.checkpoint.toPosition),
    );
    if (!holder) return null;
    const { checkpoint } = holder;
    let leaves = this.leaves.get(checkpoint.checkpointHash);
    if (!leaves) {
      leaves = (await leavesOf(this.store, checkpoint)).hashes;
      this.leaves.set(checkpoint.checkpointHash, leaves);
    }
    const leafIndex = leafIndexInCheckpoint(checkpoint, position);
    if (leafIndex === null || leafIndex >= leaves.length) return null;
    this.used.set(checkpoint.checkpointHash, holder);
    return {
      checkpointHash: checkpoint.checkpointHash,
      leafIndex,
      treeSize: checkpoint.count,
      auditPath: merkleInclusionProof(leaves, leafIndex).map((node) => node.toString('hex')),
    };
  }

  /** The checkpoints `prove` used, plus `extra` ones, in chain order. */
  bundleCheckpoints(extra: StoredCheckpoint[] = []): BundleCheckpoint[] {
    for (const c of extra) this.used.set(c.checkpoint.checkpointHash, c);
    return [...this.used.values()]
      .sort((a, b) => (a.globalPosition < b.globalPosition ? -1 : 1))
      .map(({ checkpoint, globalPosition }) => ({ ...checkpoint, globalPosition: globalPosition.toString() }));
  }
}

export function bundlePublicKeys(keys: KeyObject[]): BundlePublicKey[] {
  const publicKeys: BundlePublicKey[] = [];
  const seen = new Set<string>();
  for (const key of keys) {
    const keyId = keyIdOf(key);
    if (seen.has(keyId)) continue;
    seen.add(keyId);
    publicKeys.push({ keyId, publicKey: rawPublicKey(key).toString('base64') });
  }
  return publicKeys;
}

/**
 * Builds the evidence bundle of one stream (docs/integrity.md §8): its events with hashes, the checkpoints whose
 * ranges hold them, an RFC 6962 inclusion proof of each sealed event, the public keys, and a manifest. Events after
 * the last checkpoint are included with `inclusion: null` (not yet sealed).
 */
export async function buildEvidenceBundle(options: {
  store: EventStore;
  streamId: string;
  approvalId?: string;
  publicKeys: KeyObject[];
  now?: Date;
}): Promise<EvidenceBundle> {
  const { store, streamId } = options;
  const recorded = await readWholeStream(store, streamId);
  const prover = new InclusionProver(store, await readCheckpoints(store));
  const events: BundleEvent[] = [];
  for (const event of recorded) {
    events.push({ ...toWireEvent(event), inclusion: await prover.prove(event.globalPosition) });
  }
  const { counts, body } = bundleParts(events, prover.bundleCheckpoints(), options.publicKeys, options.now);
  return {
    format: EVIDENCE_BUNDLE_FORMAT,
    manifest: {
      streamId,
      ...(options.approvalId !== undefined ? { approvalId: options.approvalId } : {}),
      ...counts,
    },
    ...body,
  };
}

/** What every bundle's manifest counts (events, sealed or not, checkpoints, key ids, content hash) and its body. */
function bundleParts(
  events: BundleEvent[],
  checkpoints: BundleCheckpoint[],
  keys: KeyObject[],
  now: Date | undefined,
): {
  counts: BundleCounts;
  body: { events: BundleEvent[]; checkpoints: BundleCheckpoint[]; publicKeys: BundlePublicKey[] };
} {
  const publicKeys = bundlePublicKeys(keys);
  const sealed = events.filter((e) => e.inclusion !== null).length;
  return {
    counts: {
      createdAt: (now ?? new Date()).toISOString(),
      eventCount: events.length,
      sealedEvents: sealed,
      unsealedEvents: events.length - sealed,
      checkpointCount: checkpoints.length,
      keyIds: publicKeys.map((k) => k.keyId),
      contentHash: bundleContentHash({ events, checkpoints, publicKeys }),
    },
    body: { events, checkpoints, publicKeys },
  };
}

/** The largest range `buildRangeEvidenceBundle` accepts (the bundle is built in memory). */
export const MAX_RANGE_BUNDLE_POSITIONS = 100_000n;

/**
 * Builds the evidence bundle of a global-position range (docs/integrity.md §8): every event of
 * [fromPosition, toPosition], whatever its stream, in position order, with inclusion proofs, every checkpoint whose
 * range meets it (so that offline every sealed position of the range can be required), the public keys and a manifest.
 */
export async function buildRangeEvidenceBundle(options: {
  store: EventStore;
  fromPosition: bigint;
  toPosition: bigint;
  publicKeys: KeyObject[];
  now?: Date;
}): Promise<RangeEvidenceBundle> {
  const { store, fromPosition, toPosition } = options;
  const checkpoints = await readCheckpoints(store);
  const meeting = checkpoints.filter(
    (c) => BigInt(c.checkpoint.fromPosition) <= toPosition && fromPosition <= BigInt(c.checkpoint.toPosition),
  );
  const prover = new InclusionProver(store, checkpoints);
  const events: BundleEvent[] = [];
  let after = fromPosition - 1n;
  while (after < toPosition) {
    const page = await store.readAll({ fromPosition: after, maxCount: PAGE });
    if (page.length === 0) break;
    for (const event of page) {
      if (event.globalPosition > toPosition) break;
      events.push({ ...toWireEvent(event), inclusion: await prover.prove(event.globalPosition) });
    }
    after = page[page.length - 1]!.globalPosition;
  }
  const { counts, body } = bundleParts(events, prover.bundleCheckpoints(meeting), options.publicKeys, options.now);
  return {
    format: RANGE_EVIDENCE_BUNDLE_FORMAT,
    manifest: { fromPosition: fromPosition.toString(), toPosition: toPosition.toString(), ...counts },
    ...body,
  };
}
