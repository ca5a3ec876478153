import {
  canonicalJson,
  chainHashOfCanonicalPayloads,
  leafIndexInCheckpoint,
  MerkleLevels,
  RANGE_EVIDENCE_BUNDLE_FORMAT,
  type BundleCheckpoint,
  type BundlePublicKey,
  type RangeBundleManifest,
} from '@audit-ledger/integrity';
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
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
  const file = await open(options.path, 'wx', 0o600);
  const out = new CanonicalFileWriter(file);
  const content = createHash('sha256');
  const checkpointsJcs = canonicalJson(checkpoints);
  const keysJcs = canonicalJson(options.publicKeys);
  // The file is the bundle's own RFC 8785 text (valid JSON, members in JCS order), written as it is built: the
  // content hash covers JCS({checkpoints, events, publicKeys}), the same events text between the same members.
  content.update(`{"checkpoints":${checkpointsJcs},"events":[`);
  out.write(`{"checkpoints":${checkpointsJcs},"events":[`);
  const hashes: Buffer[] = new Array<Buffer>(rows.length);
  let sealed = 0;
  let c = 0;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const position = BigInt(row.p);
    while (c < checkpoints.length && BigInt(checkpoints[c]!.toPosition) < position) c++;
    const holder = checkpoints[c];
    let inclusion = 'null';
    if (holder && BigInt(holder.fromPosition) <= position) {
      const leafIndex = leafIndexInCheckpoint(holder, position);
      if (leafIndex !== null) {
        const path = trees.get(holder.checkpointHash)!.auditPath(leafIndex);
        inclusion =
          `{"auditPath":[${path.map((node) => `"${node.toString('hex')}"`).join(',')}],` +
          `"checkpointHash":"${holder.checkpointHash}","leafIndex":${leafIndex},"treeSize":${holder.count}}`;
        sealed += 1;
      }
    }
    hashes[i] = Buffer.from(row.hash, 'hex');
    const [data, metadata] = canonicalPayloads(row);
    const text =
      `${i === 0 ? '' : ','}{"data":${data},"eventId":"${row.event_id}","globalPosition":"${row.p}",` +
      `"hash":"${row.hash}","inclusion":${inclusion},"metadata":${metadata},"prevHash":"${row.prev_hash}",` +
      `"recordedAt":"${row.recorded_at.toISOString()}","streamId":${JSON.stringify(row.stream_id)},` +
      `"streamRevision":${Number(row.stream_revision)},"type":${JSON.stringify(row.type)}}`;
    content.update(text);
    await out.write(text);
  }
  content.update(`],"publicKeys":${keysJcs}}`);
  const manifest: RangeBundleManifest = {
    fromPosition: fromPosition.toString(),
    toPosition: toPosition.toString(),
    createdAt: options.now.toISOString(),
    eventCount: rows.length,
    sealedEvents: sealed,
    unsealedEvents: rows.length - sealed,
    checkpointCount: checkpoints.length,
    keyIds: options.publicKeys.map((key) => key.keyId),
    contentHash: content.digest('hex'),
  };
  await out.write(
    `],"format":"${RANGE_EVIDENCE_BUNDLE_FORMAT}","manifest":${canonicalJson(manifest)},"publicKeys":${keysJcs}}`,
  );
  const sha256 = await out.close();
  return { sha256, eventCount: rows.length, hashes };
}

/**
 * The event's payloads as their RFC 8785 text: as stored when they hash to the event's hash (every event written
 * since event-store migration 2), else canonicalised from jsonb's rendering; an event matching neither is refused.
 */
function canonicalPayloads(row: EventRow): [string, string] {
  const fields = {
    eventId: row.event_id,
    streamId: row.stream_id,
    streamRevision: Number(row.stream_revision),
    type: row.type,
  };
  if (chainHashOfCanonicalPayloads(row.prev_hash, fields, row.data, row.metadata) === row.hash) {
    return [row.data, row.metadata];
  }
  const data = canonicalJson(JSON.parse(row.data));
  const metadata = canonicalJson(JSON.parse(row.metadata));
  if (chainHashOfCanonicalPayloads(row.prev_hash, fields, data, metadata) === row.hash) return [data, metadata];
  throw new ArchiveRefusedError(
    `the event at position ${row.p} (stream ${row.stream_id} revision ${row.stream_revision}) does not match its hash: run ledger verify`,
  );
}

/** Buffered writes of one file, hashed as written, fsync'd on close. */
class CanonicalFileWriter {
  private chunks: string[] = [];
  private size = 0;
  private readonly hash = createHash('sha256');

  constructor(private readonly file: FileHandle) {}

  async write(text: string): Promise<void> {
    this.chunks.push(text);
    this.size += text.length;
    if (this.size >= 1 << 20) await this.flush();
  }

  private async flush(): Promise<void> {
    const bytes = Buffer.from(this.chunks.join(''), 'utf8');
    this.chunks = [];
    this.size = 0;
    this.hash.update(bytes);
    await this.file.write(bytes);
  }

  /** Returns the hex SHA-256 of everything written. */
  async close(): Promise<string> {
    try {
      await this.flush();
      await this.file.sync();
    } finally {
      await this.file.close();
    }
    return this.hash.digest('hex');
  }
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
