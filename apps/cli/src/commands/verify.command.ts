import { InvalidArgumentError, Option, type Command } from 'commander';
import { join } from 'node:path';
import { CliFailure } from '../shared/cli-failure.js';
import { openDatabase } from '../shared/database-url.js';
import type { CliIo } from '../shared/cli-io.js';
import { EXIT_CODES } from '../shared/exit-codes.js';
import { progressBar } from '../shared/progress.js';

/** `ledger verify` exits with this code when the ledger fails verification (1 stays "could not run"). */
const VERIFY_FAILED_EXIT_CODE = 5;

interface VerifyFlags {
  stream?: string;
  from?: bigint;
  to?: bigint;
  witness?: string;
  archive?: string[];
  databaseUrl?: string;
  keysDir?: string;
  json: boolean;
}

const parsePosition = (value: string): bigint => {
  if (!/^(0|[1-9]\d{0,18})$/.test(value)) throw new InvalidArgumentError('must be a global position (an integer ≥ 0)');
  return BigInt(value);
};

/**
 * `ledger verify`: re-reads the events table (DATABASE_URL or --database-url) and checks every hash chain, every
 * signed checkpoint and its range, and a witness file; exits 5 naming the first bad position (docs/integrity.md).
 */
export function registerVerify(program: Command, io: CliIo): void {
  program
    .command('verify')
    .description('check hash chains, signed checkpoints and Merkle roots in the database; name the first bad position')
    .option('--stream <stream>', 'only this stream’s hash chain (checkpoint signatures are still checked)')
    .option('--from <position>', 'first global position to check (inclusive)', parsePosition)
    .option('--to <position>', 'last global position to check (inclusive)', parsePosition)
    .option('--witness <file>', 'a witness file (JSON lines of checkpoints) that must agree with the database')
    .option(
      '--archive <files...>',
      'archive files (ledger archive) of the ranges dropped before the tombstone: verified with the database as one chain',
    )
    .addOption(new Option('--database-url <url>', 'PostgreSQL connection string').env('DATABASE_URL'))
    .addOption(
      new Option('--keys-dir <dir>', 'directory of *.pub Ed25519 public keys (default: $LEDGER_DATA_DIR/keys)').env(
        'LEDGER_VERIFY_KEYS_DIR',
      ),
    )
    .option('--json', 'print the report as JSON', false)
    .action(async (flags: VerifyFlags) => {
      if (flags.from !== undefined && flags.to !== undefined && flags.from > flags.to) {
        throw new CliFailure(EXIT_CODES.badInput, `--from ${flags.from} is after --to ${flags.to}`);
      }
      const database = await openDatabase(flags.databaseUrl, io);
      const databaseUrl = database.url;
      try {
        const { verifyArchivedLedger } = await import('@audit-ledger/archive');
        const { readPublicKeyRing } = await import('@audit-ledger/evidence');
        const keysDir = flags.keysDir ?? join(process.env.LEDGER_DATA_DIR ?? './data', 'keys');
        const ring = readPublicKeyRing(keysDir);
        if (ring.size === 0) io.err(`warning: no public keys in ${keysDir}: checkpoint signatures cannot verify\n`);
        const progress = flags.json ? undefined : progressBar('verifying', 'positions');
        // From the newest tombstone on when archived ranges were dropped; with --archive, those ranges too.
        const report = await verifyArchivedLedger({
          databaseUrl,
          keys: ring,
          ...(progress ? { onProgress: ({ position, last }) => progress.update(position, last) } : {}),
          ...(flags.stream !== undefined ? { stream: flags.stream } : {}),
          ...(flags.from !== undefined ? { from: flags.from } : {}),
          ...(flags.to !== undefined ? { to: flags.to } : {}),
          ...(flags.witness !== undefined ? { witnessFile: flags.witness } : {}),
          ...(flags.archive !== undefined ? { archives: flags.archive } : {}),
        })
          .catch((error: unknown) => {
            throw new CliFailure(EXIT_CODES.failure, `verification could not run: ${(error as Error).message}`);
          })
          .finally(() => progress?.stop());
        if (flags.json) {
          io.out(`${JSON.stringify(report, null, 2)}\n`);
        } else {
          const summary =
            `${report.eventsChecked} events in ${report.streamsChecked} streams, ${report.checkpointsChecked} checkpoints ` +
            `(${report.rangesChecked} ranges re-hashed, sealed through ${report.sealedThrough ?? 'nothing'}), ` +
            `${report.unsealedEvents} events after the last checkpoint` +
            (report.witnessCheckpoints === null ? '' : `, ${report.witnessCheckpoints} witnessed checkpoints`) +
            (report.witnessArchived === null || report.witnessArchived.unchecked === 0
              ? ''
              : ` (${report.witnessArchived.unchecked} before the tombstone covered by the archive, not checked)`) +
            (report.tombstone === null
              ? ''
              : `; positions ${report.tombstone.fromPosition}..${report.tombstone.toPosition} archived and dropped ` +
                `(archive ${report.tombstone.archiveId}), ` +
                (report.archives === null
                  ? 'not checked: pass --archive FILE… to verify them'
                  : `${report.archives.eventCount} archived events verified in ${report.archives.files.length} files`));
          if (report.ok) {
            io.out(`OK: ${summary}\n`);
          } else {
            const first = report.firstProblem!;
            const where = (problem: { file?: string }) => (problem.file ? ` (${problem.file})` : '');
            io.out(`FAILED at position ${first.position ?? '-'}${where(first)}: ${first.kind}: ${first.message}\n`);
            for (const problem of report.problems.slice(1)) {
              io.out(`  also at ${problem.position ?? '-'}: ${problem.kind}: ${problem.message}\n`);
            }
            io.out(`checked: ${summary}\n`);
          }
        }
        if (!report.ok) throw new CliFailure(VERIFY_FAILED_EXIT_CODE, 'the ledger failed verification');
      } finally {
        await database.close();
      }
    });
}
