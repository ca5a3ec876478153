import { checkTombstoneSignature, type SignedTombstone } from '@audit-ledger/integrity';
import { ARCHIVES_STREAM, type ArchiveDroppedData } from '@audit-ledger/domain';
import pg from 'pg';
import { checkpointsByEnd, verifyLedger, type VerifyOptions, type VerifyReport } from '@audit-ledger/evidence';
import { verifyArchiveChain, type ArchiveChainReport } from './archive-chain.js';

/** A problem in the archives, the tombstone or where they meet the database, named like the verifier's findings. */
export interface ArchiveFinding {
  kind: string;
  position: string | null;
  file?: string;
  message: string;
}

export interface ArchivedVerifyReport extends Omit<VerifyReport, 'firstProblem' | 'problems'> {
  firstProblem: ArchiveFinding | null;
  problems: ArchiveFinding[];
  /** The newest tombstone: positions up to its toPosition left the database (null: nothing was dropped). */
  tombstone: { archiveId: string; fromPosition: string; toPosition: string; droppedAt: string } | null;
  /** With --archive: what the archive files held. */
  archives: Omit<ArchiveChainReport, 'heads' | 'problems' | 'ok' | 'checkpoints'> | null;
}

/**
 * `ledger verify [--archive FILE…]` on a ledger that may have dropped archived ranges: reads the newest tombstone
 * (`ArchiveDropped` in stream `archives`), checks its signature, and verifies the database from the tombstone on
 * (the first checkpoint after it must chain on the last archived one). With archive files, they are verified as one
 * chain from position 1 (archive-chain.ts) that must end where the tombstone says, with the files it recorded, and
 * every stream's first event after the tombstone must link to its last archived event. Without them, those links
 * cannot be checked and are accepted (counted in the report as the tombstone's range).
 */
export async function verifyArchivedLedger(
  options: VerifyOptions & { archives?: readonly string[] },
): Promise<ArchivedVerifyReport> {
  const findings: ArchiveFinding[] = [];
  const dropped = await readDropped(options.databaseUrl);
  const tombstone = dropped.at(-1);
  if (tombstone) {
    const problem = checkTombstoneSignature(tombstone as unknown as SignedTombstone, options.keys);
    if (problem) {
      findings.push({
        kind: 'bad_signature',
        position: tombstone.fromPosition,
        message: `the tombstone of archive ${tombstone.archiveId}: ${problem}`,
      });
    }
  }
  let chain: ArchiveChainReport | null = null;
  if (options.archives && options.archives.length > 0) {
    chain = await verifyArchiveChain(options.archives, options.keys);
    findings.push(...chain.problems);
    if (tombstone) findings.push(...meetTombstone(chain, tombstone, dropped));
  }
  const heads = chain?.heads;
  const report = await verifyLedger({
    ...options,
    ...(tombstone
      ? {
          cut: { toPosition: BigInt(tombstone.toPosition), lastCheckpointHash: tombstone.lastCheckpointHash },
          ...(chain ? { archivedCheckpoints: checkpointsByEnd(chain.checkpoints) } : {}),
          beforeCut: (streamId: string, revision: number) => {
            if (!heads) return 'accept' as const;
            const head = heads.get(streamId);
            return head && head.revision === revision - 1 ? { position: head.position, hash: head.hash } : undefined;
          },
        }
      : {}),
  });
  const problems = [...findings, ...report.problems];
  const key = (f: ArchiveFinding) => (f.position === null ? Number.MAX_SAFE_INTEGER : Number(f.position));
  problems.sort((a, b) => key(a) - key(b));
  const {
    heads: _heads,
    problems: _problems,
    ok: _ok,
    checkpoints: _checkpoints,
    ...archives
  } = chain ?? {
    heads: undefined,
    problems: undefined,
    ok: undefined,
    checkpoints: undefined,
  };
  return {
    ...report,
    ok: problems.length === 0,
    firstProblem: problems[0] ?? null,
    problems,
    tombstone: tombstone
      ? {
          archiveId: tombstone.archiveId,
          fromPosition: tombstone.fromPosition,
          toPosition: tombstone.toPosition,
          droppedAt: tombstone.droppedAt,
        }
      : null,
    archives: chain ? (archives as ArchivedVerifyReport['archives']) : null,
  };
}

/** The archives must end where the newest tombstone does, on its checkpoint, with files the tombstones recorded. */
function meetTombstone(
  chain: ArchiveChainReport,
  tombstone: ArchiveDroppedData,
  dropped: readonly ArchiveDroppedData[],
): ArchiveFinding[] {
  const findings: ArchiveFinding[] = [];
  if (chain.toPosition !== tombstone.toPosition) {
    findings.push({
      kind: 'deleted',
      position: chain.toPosition === null ? '1' : String(BigInt(chain.toPosition) + 1n),
      message: `the archives end at ${chain.toPosition ?? 'nothing'}, the tombstone of archive ${tombstone.archiveId} dropped up to ${tombstone.toPosition}: archive files are missing`,
    });
  } else if (chain.lastCheckpointHash !== tombstone.lastCheckpointHash) {
    findings.push({
      kind: 'checkpoint_chain',
      position: tombstone.toPosition,
      message: `the archives' last checkpoint ${chain.lastCheckpointHash} is not the tombstone's ${tombstone.lastCheckpointHash}`,
    });
  }
  const recorded = new Map(dropped.flatMap((t) => t.files.map((file) => [file.name, file.sha256] as const)));
  for (const file of chain.files) {
    const sha256 = recorded.get(file.file);
    if (sha256 !== undefined && sha256 !== file.sha256) {
      findings.push({
        kind: 'content_hash',
        // About the whole file: named after any problem at an event's position (as verify-bundle does).
        position: null,
        file: file.file,
        message: `${file.file} has SHA-256 ${file.sha256}; the tombstone recorded ${sha256}`,
      });
    }
  }
  return findings;
}

/** Every tombstone still in the database, oldest first. */
async function readDropped(databaseUrl: string): Promise<ArchiveDroppedData[]> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'audit-ledger-verify' });
  await client.connect();
  try {
    const { rows } = await client.query<{ data: ArchiveDroppedData }>(
      `SELECT data FROM ledger.events WHERE stream_id = $1 AND type = 'ArchiveDropped' ORDER BY stream_revision`,
      [ARCHIVES_STREAM],
    );
    return rows.map((row) => row.data);
  } finally {
    await client.end();
  }
}
