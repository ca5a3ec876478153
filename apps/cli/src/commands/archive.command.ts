import { LedgerError, type Principal } from '@audit-ledger/domain';
import { Option, type Command } from 'commander';
import { join } from 'node:path';
import { CliFailure } from '../shared/cli-failure.js';
import type { CliIo } from '../shared/cli-io.js';
import { credentialFor } from '../shared/credential.js';
import { databaseUrlOf } from '../shared/database-url.js';
import { EXIT_CODES } from '../shared/exit-codes.js';

interface ArchiveFlags {
  before?: string;
  out: string;
  databaseUrl?: string;
  keysDir?: string;
  json: boolean;
}

const databaseOption = () =>
  new Option('--database-url <url>', 'PostgreSQL connection string (the owner or a superuser)').env('DATABASE_URL');
const outOption = () =>
  new Option('--out <dir>', 'directory of the archive files').env('LEDGER_ARCHIVE_DIR').default('./archive');

/**
 * `ledger archive`: sealed archives of the events table's closed partitions, and the two-person drop that detaches
 * them (docs/operations.md "Archive and drop"). Every command authenticates an admin API key (`--api-key`,
 * `LEDGER_API_KEY`, else the local admin key) against the ledger's key table in the same database.
 */
export function registerArchive(program: Command, io: CliIo): void {
  const archive = program
    .command('archive')
    .description('write the closed partitions recorded before DATE as sealed archive files and record ArchiveSealed')
    .option('--before <date>', 'archive the partitions whose every event was recorded before this ISO 8601 date')
    .addOption(outOption())
    .addOption(databaseOption())
    .addOption(
      new Option('--keys-dir <dir>', 'directory of *.pub keys the archive must verify with (default: data/keys)').env(
        'LEDGER_VERIFY_KEYS_DIR',
      ),
    )
    .option('--json', 'print the result as JSON', false)
    .action(async (flags: ArchiveFlags, command: Command) => {
      if (flags.before === undefined) {
        throw new CliFailure(
          EXIT_CODES.badInput,
          'ledger archive needs --before DATE (or a subcommand: roll, approve, drop)',
        );
      }
      const before = new Date(flags.before);
      if (!/^\d{4}-\d{2}-\d{2}/.test(flags.before) || Number.isNaN(before.getTime())) {
        throw new CliFailure(EXIT_CODES.badInput, `--before must be an ISO 8601 date, not ${flags.before}`);
      }
      const evidence = await import('@audit-ledger/evidence');
      const archiving = await import('@audit-ledger/archive');
      const dataDir = process.env.LEDGER_DATA_DIR ?? './data';
      const keysDir = flags.keysDir ?? join(dataDir, 'keys');
      const ring = evidence.readPublicKeyRing(keysDir);
      if (ring.size === 0)
        throw new CliFailure(EXIT_CODES.badInput, `no public keys in ${keysDir}: the archive could not be verified`);
      await withArchiveStore(command, flags.databaseUrl, async (store, principal, databaseUrl) => {
        const result = await archiving.archiveBefore({
          databaseUrl,
          store,
          principal,
          before,
          outDir: flags.out,
          publicKeys: evidence.bundlePublicKeys([...ring.values()]),
          keys: ring,
        });
        if (flags.json) {
          io.out(`${JSON.stringify(result, null, 2)}\n`);
        } else if (result.archive) {
          const a = result.archive;
          io.out(
            `sealed archive ${a.archiveId}: positions ${a.fromPosition}..${a.toPosition}, ${a.eventCount} events, ` +
              `partitions ${a.partitions.join(', ')}, Merkle root ${a.merkleRoot}, in ${join(flags.out, `archive-${a.archiveId}`)}\n` +
              a.files.map((file) => `  ${file.name} sha256 ${file.sha256}\n`).join('') +
              `next: two admins run ledger archive approve ${a.archiveId}, then ledger archive drop ${a.archiveId}\n`,
          );
        } else {
          io.out(`nothing archived: ${result.stoppedAt}\n`);
        }
      });
    });

  archive
    .command('roll')
    .description('close the open partition of the events table and open the next one (run at each period start)')
    .action(async (_flags: unknown, command: Command) => {
      const archiving = await import('@audit-ledger/archive');
      const closed = await archiving.rollPartitionAt(databaseUrlOf(shared(command).databaseUrl));
      io.out(closed ? `closed partition ${closed}\n` : 'the open partition is empty: nothing to close\n');
    });

  archive
    .command('approve <archiveId>')
    .description('approve dropping an archive (an admin; two distinct admins must approve)')
    .option('--reason <text>', 'why the range may leave the database')
    .action(async (archiveId: string, flags: { reason?: string }, command: Command) => {
      const archiving = await import('@audit-ledger/archive');
      await withArchiveStore(command, shared(command).databaseUrl, async (store, principal, databaseUrl) => {
        await archiving.approveArchiveDrop({
          databaseUrl,
          store,
          principal,
          archiveId,
          ...(flags.reason !== undefined ? { reason: flags.reason } : {}),
        });
        io.out(`${principal.id} approved dropping archive ${archiveId}\n`);
      });
    });

  archive
    .command('drop <archiveId>')
    .description(
      'after two admin approvals: re-verify the files in --out, detach the partitions, append the signed tombstone',
    )
    .action(async (archiveId: string, _flags: unknown, command: Command) => {
      const { out } = shared(command);
      const evidence = await import('@audit-ledger/evidence');
      const archiving = await import('@audit-ledger/archive');
      const keys = evidence.resolveIntegrityKeys({
        signingKey: process.env.LEDGER_SIGNING_KEY,
        signingKeyFile: process.env.LEDGER_SIGNING_KEY_FILE,
        verifyKeysDir: process.env.LEDGER_VERIFY_KEYS_DIR,
        dataDir: process.env.LEDGER_DATA_DIR ?? './data',
      });
      await withArchiveStore(command, shared(command).databaseUrl, async (store, principal, databaseUrl) => {
        const tombstone = await archiving.dropArchive({
          databaseUrl,
          store,
          principal,
          archiveId,
          archiveDir: join(out, `archive-${archiveId}`),
          keys: keys.ring,
          signing: keys.signing,
        });
        io.out(
          `dropped archive ${archiveId}: partitions ${tombstone.partitions.join(', ')} detached, approved by ` +
            `${tombstone.approvedBy.join(' and ')}; tombstone ${tombstone.tombstoneHash} signed by key ${tombstone.keyId}\n`,
        );
      });
    });
}

/** `--database-url` and `--out` belong to `ledger archive` and are parsed there wherever they stand on the line. */
function shared(command: Command): { databaseUrl?: string; out: string } {
  return command.optsWithGlobals<{ databaseUrl?: string; out: string }>();
}

/** Connects to the store (no migrations), authenticates the admin key, runs, and maps refusals to exit codes. */
async function withArchiveStore(
  command: Command,
  explicitUrl: string | undefined,
  run: (
    store: Awaited<ReturnType<(typeof import('@audit-ledger/archive'))['connectArchiveStore']>>,
    principal: Principal,
    databaseUrl: string,
  ) => Promise<void>,
): Promise<void> {
  const databaseUrl = databaseUrlOf(explicitUrl);
  const apiKey = credentialFor(command, 'admin');
  if (!apiKey) throw new CliFailure(EXIT_CODES.badInput, 'no admin credential: pass --api-key (or LEDGER_API_KEY)');
  const archiving = await import('@audit-ledger/archive');
  const store = await archiving.connectArchiveStore(databaseUrl);
  try {
    const principal = await archiving.principalOfApiKey(store, apiKey).catch((error: unknown) => {
      throw new CliFailure(EXIT_CODES.refused, `not authenticated: ${(error as Error).message}`);
    });
    await run(store, principal, databaseUrl).catch((error: unknown) => {
      if (error instanceof CliFailure) throw error;
      if (error instanceof LedgerError || (error as { code?: string }).code === 'ARCHIVE.REFUSED') {
        throw new CliFailure(EXIT_CODES.refused, `${(error as { code: string }).code}: ${(error as Error).message}`);
      }
      throw new CliFailure(EXIT_CODES.failure, (error as Error).message);
    });
  } finally {
    await store.close();
  }
}
