import {
  GENESIS_CHECKPOINT_HASH,
  GENESIS_HASH,
  MerkleTreeBuilder,
  verifyEvidenceBundle,
  type BundleCheckpoint,
  type PublicKeyRing,
  type RangeEvidenceBundle,
} from '@audit-ledger/integrity';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { type CheckedArchiveFile } from './archive-file-fast-check.js';
import { ArchiveFileChecks } from './archive-file-checks.js';

/** A problem found in archive files: the event (position, stream, revision) or checkpoint concerned, and the file. */
export interface ArchiveProblem {
  kind: string;
  position: string | null;
  file: string;
  message: string;
}

/** The last event of a stream in the archives: where its chain continues in the database. */
export interface ArchivedHead {
  revision: number;
  hash: string;
  position: number;
}

export interface ArchiveChainReport {
  ok: boolean;
  problems: ArchiveProblem[];
  files: { file: string; sha256: string; fromPosition: string; toPosition: string; eventCount: number }[];
  fromPosition: string | null;
  toPosition: string | null;
  eventCount: number;
  /** RFC 6962 root over every archived event hash in position order (ArchiveSealed.merkleRoot). */
  merkleRoot: string | null;
  /** The last checkpoint of the chain (null: none). */
  lastCheckpointHash: string | null;
  heads: Map<string, ArchivedHead>;
  /** Every checkpoint of the archives, in range order (what a witness's lines before the tombstone are checked with). */
  checkpoints: BundleCheckpoint[];
}

/**
 * Verifies archive files (range evidence bundles) as ONE chain from position 1: each file as `verify-bundle` does
 * (hashes, links inside it, checkpoint signatures with the trusted keys, inclusion proofs, completeness, manifest),
 * then across files: ranges contiguous from 1, checkpoints chained from genesis, every stream's revisions and hash
 * links unbroken from revision 0. Problems name the file and the event's position.
 */
export async function verifyArchiveChain(
  paths: readonly string[],
  keys: PublicKeyRing,
  /** Checks started as the files were written (archive.service.ts); else half the files are checked in a worker. */
  started?: ArchiveFileChecks,
): Promise<ArchiveChainReport> {
  const checks = started ?? new ArchiveFileChecks(keys);
  if (!started) paths.forEach((path, i) => i % 2 === 1 && checks.start(path));
  try {
    return await verifyFiles(paths, keys, checks);
  } finally {
    if (!started) await checks.close();
  }
}

async function verifyFiles(
  paths: readonly string[],
  keys: PublicKeyRing,
  checks: ArchiveFileChecks,
): Promise<ArchiveChainReport> {
  const problems: ArchiveProblem[] = [];
  const loaded: { file: string; sha256: string; checked: CheckedArchiveFile }[] = [];
  for (const path of paths) {
    const file = basename(path);
    // From the bytes read back from disk when the file is as the writer wrote it; else (or on any problem) the full
    // verify-bundle check.
    const fast = await checks.result(path);
    if (fast) {
      loaded.push({ file, sha256: fast.sha256, checked: fast });
      continue;
    }
    const bytes = await readFile(path);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      problems.push({ kind: 'malformed', position: null, file, message: `not JSON: ${(error as Error).message}` });
      continue;
    }
    const report = verifyEvidenceBundle(parsed, { trustedKeys: keys });
    for (const problem of report.problems) {
      problems.push({ kind: problem.kind, position: problem.position ?? null, file, message: problem.message });
    }
    if (report.range === null) {
      if (report.ok) problems.push({ kind: 'malformed', position: null, file, message: 'not a range bundle' });
      continue;
    }
    const bundle = parsed as RangeEvidenceBundle;
    loaded.push({
      file,
      sha256,
      checked: {
        fromPosition: bundle.manifest.fromPosition,
        toPosition: bundle.manifest.toPosition,
        checkpoints: bundle.checkpoints,
        eventCount: bundle.events.length,
        events: bundle.events,
        sha256,
      },
    });
  }
  loaded.sort((a, b) => cmp(BigInt(a.checked.fromPosition), BigInt(b.checked.fromPosition)));
  const chain = new ChainCheck(problems);
  for (const { file, checked } of loaded) chain.addFile(file, checked);
  chain.finish();
  return {
    ok: problems.length === 0,
    problems: problems.sort((a, b) => cmp(positionKey(a), positionKey(b))),
    files: loaded.map(({ file, sha256, checked }) => ({
      file,
      sha256,
      fromPosition: checked.fromPosition,
      toPosition: checked.toPosition,
      eventCount: checked.eventCount,
    })),
    fromPosition: loaded[0]?.checked.fromPosition ?? null,
    toPosition: loaded.at(-1)?.checked.toPosition ?? null,
    eventCount: chain.events,
    merkleRoot: chain.events > 0 ? chain.tree.root().toString('hex') : null,
    lastCheckpointHash: chain.lastCheckpoint?.checkpointHash ?? null,
    heads: chain.heads,
    checkpoints: chain.ordered,
  };
}

const cmp = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);
const positionKey = (p: ArchiveProblem) => (p.position === null ? 2n ** 63n : BigInt(p.position));

class ChainCheck {
  readonly heads = new Map<string, ArchivedHead>();
  readonly tree = new MerkleTreeBuilder();
  events = 0;
  lastCheckpoint: BundleCheckpoint | undefined;
  ordered: BundleCheckpoint[] = [];
  private readonly checkpoints = new Map<string, BundleCheckpoint>();
  private nextFrom = 1n;

  constructor(private readonly problems: ArchiveProblem[]) {}

  addFile(file: string, bundle: CheckedArchiveFile): void {
    const from = BigInt(bundle.fromPosition);
    if (from !== this.nextFrom) {
      this.problems.push({
        kind: from > this.nextFrom ? 'deleted' : 'checkpoint_chain',
        position: String(this.nextFrom),
        file,
        message:
          from > this.nextFrom
            ? `positions ${this.nextFrom}..${from - 1n} are in no archive file: ${file} starts at ${from}`
            : `${file} starts at ${from}, inside the range of an earlier file (which ends at ${this.nextFrom - 1n})`,
      });
    }
    this.nextFrom = BigInt(bundle.toPosition) + 1n;
    for (const checkpoint of bundle.checkpoints) this.checkpoints.set(checkpoint.checkpointHash, checkpoint);
    if (bundle.streams && bundle.leafHashes) {
      // Proven from its bytes: the links inside the file are checked, those across files are the spans' ends.
      this.events += bundle.eventCount;
      this.tree.pushLeafHashes(bundle.leafHashes);
      for (const span of bundle.streams) {
        this.link(file, span.streamId, span.firstPosition, span.firstRevision, span.firstPrevHash);
        this.heads.set(span.streamId, {
          revision: span.lastRevision,
          hash: span.lastHash,
          position: span.lastPosition,
        });
      }
      return;
    }
    for (const event of bundle.events ?? []) {
      this.events += 1;
      this.tree.pushHex(event.hash);
      const position = Number(event.globalPosition);
      this.link(file, event.streamId, position, event.streamRevision, event.prevHash);
      this.heads.set(event.streamId, { revision: event.streamRevision, hash: event.hash, position });
    }
  }

  /** An event's revision and link against its stream's head in the archives so far. */
  private link(file: string, streamId: string, position: number, revision: number, prevHash: string): void {
    const head = this.heads.get(streamId);
    const expectedRevision = head ? head.revision + 1 : 0;
    const expectedPrev = head ? head.hash : GENESIS_HASH;
    if (revision !== expectedRevision) {
      this.problems.push({
        kind: 'deleted',
        position: String(position),
        file,
        message: `stream ${streamId} revision ${revision} (position ${position}) follows revision ${expectedRevision - 1} in the archives: revisions are missing`,
      });
    } else if (prevHash !== expectedPrev) {
      this.problems.push({
        kind: 'broken_link',
        position: String(position),
        file,
        message: `stream ${streamId} revision ${revision} (position ${position}) links to ${prevHash}, not to the archived revision ${expectedRevision - 1}'s hash ${expectedPrev}`,
      });
    }
  }

  /** The checkpoints of every file, in range order, must chain from genesis and cover the archives to their end. */
  finish(): void {
    const ordered = [...this.checkpoints.values()].sort((a, b) => cmp(BigInt(a.fromPosition), BigInt(b.fromPosition)));
    this.ordered = ordered;
    let previous: BundleCheckpoint | undefined;
    for (const checkpoint of ordered) {
      const expectedHash = previous?.checkpointHash ?? GENESIS_CHECKPOINT_HASH;
      const expectedFrom = previous ? BigInt(previous.toPosition) + 1n : 1n;
      if (checkpoint.previousCheckpointHash !== expectedHash || BigInt(checkpoint.fromPosition) !== expectedFrom) {
        this.problems.push({
          kind: 'checkpoint_chain',
          position: checkpoint.fromPosition,
          file: '(all)',
          message: `checkpoint ${checkpoint.checkpointHash} (range ${checkpoint.fromPosition}..${checkpoint.toPosition}) does not follow ${previous ? `checkpoint ${previous.checkpointHash} (ending at ${previous.toPosition})` : 'the genesis'}`,
        });
      }
      previous = checkpoint;
    }
    this.lastCheckpoint = previous;
    if (previous && BigInt(previous.toPosition) !== this.nextFrom - 1n) {
      this.problems.push({
        kind: 'checkpoint_chain',
        position: previous.toPosition,
        file: '(all)',
        message: `the last checkpoint of the archives ends at ${previous.toPosition}, the archives at ${this.nextFrom - 1n}`,
      });
    }
  }
}
