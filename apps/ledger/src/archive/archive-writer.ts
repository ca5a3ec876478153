import {
  bundleContentHash,
  leafIndexInCheckpoint,
  MerkleLevels,
  RANGE_EVIDENCE_BUNDLE_FORMAT,
  type BundleCheckpoint,
  type BundleEvent,
  type BundlePublicKey,
  type RangeEvidenceBundle,
} from '@audit-ledger/integrity';
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type pg from 'pg';

/** A checkpoint as stored, with its position in the ledger. */
export interface PositionedCheckpoint extends BundleCheckpoint {
  globalPosition: string;
}

type EventRow = {
  p: string;
  event_id: string;
  stream_id: string;
  stream_revision: string;
  type: string;
  data: string;
  metadata: string;
  prev_hash: string;
  hash: string;
  recorded_at: Date;
};

/**
 * Writes one archive file: the range evidence bundle (docs/integrity.md §8) of [fromPosition, toPosition], read from
 * the events table in position order, every event with its RFC 6962 inclusion proof against the checkpoint sealing
 * it. Each checkpoint's leaves are read once and its root recomputed: a range whose events no longer hash to their
 * checkpoint's root is refused (an archive never seals what the ledger would fail to verify). Returns the file's
 * SHA-256, the event count and the event hashes in order (for the archive's Merkle root).
 */
export async function writeArchiveFile(options: {
  client: pg.ClientBase;
  fromPosition: bigint;
  toPosition: bigint;
  /** Every checkpoint whose range meets [fromPosition, toPosition], in chain order. */
  checkpoints: readonly PositionedCheckpoint[];
  publicKeys: BundlePublicKey[];
  path: string;
  now: Date;
}): Promise<{ sha256: string; eventCount: number; hashes: Buffer[] }> {
  const { client, fromPosition, toPosition, checkpoints } = options;
  const { rows } = await client.query<EventRow>(
    `SELECT global_position::text AS p, event_id, stream_id, stream_revision::text, type, data::text AS data,
            metadata::text AS metadata, prev_hash, hash, recorded_at
       FROM ledger.events WHERE global_position BETWEEN $1 AND $2 ORDER BY global_position`,
    [fromPosition.toString(), toPosition.toString()],
  );
  const trees = new Map<string, MerkleLevels>();
  for (const checkpoint of checkpoints) trees.set(checkpoint.checkpointHash, await treeOf(client, checkpoint, rows));
  const events: BundleEvent[] = new Array<BundleEvent>(rows.length);
  const hashes: Buffer[] = new Array<Buffer>(rows.length);
  let c = 0;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const position = BigInt(row.p);
    while (c < checkpoints.length && BigInt(checkpoints[c]!.toPosition) < position) c++;
    const holder = checkpoints[c];
    let inclusion: BundleEvent['inclusion'] = null;
    if (holder && BigInt(holder.fromPosition) <= position) {
      const leafIndex = leafIndexInCheckpoint(holder, position);
      if (leafIndex !== null) {
        inclusion = {
          checkpointHash: holder.checkpointHash,
          leafIndex,
          treeSize: holder.count,
          auditPath: trees
            .get(holder.checkpointHash)!
            .auditPath(leafIndex)
            .map((node) => node.toString('hex')),
        };
      }
    }
    hashes[i] = Buffer.from(row.hash, 'hex');
    events[i] = {
      eventId: row.event_id,
      type: row.type,
      streamId: row.stream_id,
      streamRevision: Number(row.stream_revision),
      globalPosition: row.p,
      data: JSON.parse(row.data) as unknown,
      metadata: JSON.parse(row.metadata) as unknown,
      prevHash: row.prev_hash,
      hash: row.hash,
      recordedAt: row.recorded_at.toISOString(),
      inclusion,
    };
  }
  const bundleCheckpoints = checkpoints.map((checkpoint) => ({ ...checkpoint }));
  const { publicKeys } = options;
  const sealed = events.filter((event) => event.inclusion !== null).length;
  const bundle: RangeEvidenceBundle = {
    format: RANGE_EVIDENCE_BUNDLE_FORMAT,
    manifest: {
      fromPosition: fromPosition.toString(),
      toPosition: toPosition.toString(),
      createdAt: options.now.toISOString(),
      eventCount: events.length,
      sealedEvents: sealed,
      unsealedEvents: events.length - sealed,
      checkpointCount: bundleCheckpoints.length,
      keyIds: publicKeys.map((key) => key.keyId),
      contentHash: bundleContentHash({ events, checkpoints: bundleCheckpoints, publicKeys }),
    },
    events,
    checkpoints: bundleCheckpoints,
    publicKeys,
  };
  const bytes = Buffer.from(JSON.stringify(bundle), 'utf8');
  const file = await open(options.path, 'wx', 0o600);
  try {
    await file.writeFile(bytes);
    await file.sync();
  } finally {
    await file.close();
  }
  return { sha256: createHash('sha256').update(bytes).digest('hex'), eventCount: events.length, hashes };
}

/** The checkpoint's tree over its range's event hashes (from the rows read when they cover it, else the table). */
async function treeOf(
  client: pg.ClientBase,
  checkpoint: PositionedCheckpoint,
  rows: readonly EventRow[],
): Promise<MerkleLevels> {
  const from = BigInt(checkpoint.fromPosition);
  const to = BigInt(checkpoint.toPosition);
  const first = rows.length > 0 ? BigInt(rows[0]!.p) : undefined;
  const last = rows.length > 0 ? BigInt(rows[rows.length - 1]!.p) : undefined;
  const leaves =
    first !== undefined && last !== undefined && from >= first && to <= last
      ? rows.slice(lowerBound(rows, from), lowerBound(rows, to + 1n))
      : (
          await client.query<{ hash: string }>(
            'SELECT hash FROM ledger.events WHERE global_position BETWEEN $1 AND $2 ORDER BY global_position',
            [from.toString(), to.toString()],
          )
        ).rows;
  if (leaves.length !== checkpoint.count || leaves.length === 0) {
    throw new ArchiveRefusedError(
      `checkpoint ${checkpoint.checkpointHash} (range ${from}..${to}) seals ${checkpoint.count} events, the table holds ${leaves.length}: run ledger verify`,
    );
  }
  const tree = new MerkleLevels(leaves.map((leaf) => Buffer.from(leaf.hash, 'hex')));
  if (tree.root().toString('hex') !== checkpoint.merkleRoot) {
    throw new ArchiveRefusedError(
      `the events of ${from}..${to} do not hash to checkpoint ${checkpoint.checkpointHash}'s Merkle root: run ledger verify`,
    );
  }
  return tree;
}

/** Index of the first row at or after `position` (rows in position order). */
function lowerBound(rows: readonly EventRow[], position: bigint): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (BigInt(rows[mid]!.p) < position) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class ArchiveRefusedError extends Error {
  readonly code = 'ARCHIVE.REFUSED';
}
