import { Option, type Command } from 'commander';
import { CliFailure } from '../shared/cli-failure.js';
import { openDatabase } from '../shared/database-url.js';
import type { CliIo } from '../shared/cli-io.js';
import { EXIT_CODES } from '../shared/exit-codes.js';

interface TrimFlags {
  databaseUrl?: string;
  days: string;
  wait: boolean;
  json: boolean;
}

/**
 * `ledger projections trim`: the read models' retention on demand (the ledger also runs it on a schedule): deletes
 * detail rows older than the window in bounded batches, in the database itself (DATABASE_URL or --database-url, the
 * owner), next to a running ledger. The events are never touched (docs/read-models.md "Retention").
 */
export function registerProjectionsTrim(program: Command, io: CliIo): void {
  const projections =
    program.commands.find((command) => command.name() === 'projections') ??
    program.command('projections').description('read-model projections');
  projections
    .command('trim')
    .description('delete read-model detail rows older than the retention window now (the events stay)')
    .addOption(new Option('--database-url <url>', 'PostgreSQL connection string (the owner)').env('DATABASE_URL'))
    .addOption(
      new Option('--days <n>', 'retention window in days (0: keep forever)')
        .env('LEDGER_READ_MODEL_RETENTION_DAYS')
        .default('400'),
    )
    .option('--wait', 'wait for a trim running in another process instead of doing nothing', false)
    .option('--json', 'print the result as JSON', false)
    .action(async (flags: TrimFlags) => {
      const days = Number(flags.days);
      if (!/^\d+$/.test(flags.days) || days > 36_500) {
        throw new CliFailure(EXIT_CODES.badInput, `--days must be a whole number from 0 to 36500, not ${flags.days}`);
      }
      const database = await openDatabase(flags.databaseUrl, io);
      const databaseUrl = database.url;
      try {
        const { trimReadModels } = await import('@audit-ledger/read-models');
        const report = await trimReadModels({
          connectionString: databaseUrl,
          retentionDays: days,
          waitForLock: flags.wait,
        }).catch((error: unknown) => {
          throw new CliFailure(EXIT_CODES.failure, `trim failed: ${(error as Error).message}`);
        });
        if (flags.json) {
          io.out(`${JSON.stringify(report, null, 2)}\n`);
          return;
        }
        const skipped = {
          disabled: 'retention is off (0 days): nothing trimmed',
          locked: 'another process is trimming now: nothing done here (--wait waits for it)',
          'no-read-models': 'no read models in this database: nothing to trim',
          'rollups-not-built':
            'the summary rollups do not hold the whole history yet: run `ledger projections rebuild executions` first',
        } as const;
        if (report.skipped) {
          io.out(`${skipped[report.skipped]}\n`);
          return;
        }
        const counts = Object.entries(report.trimmed).map(([table, n]) => `${table} ${n}`);
        io.out(`trimmed rows before ${report.cutoff?.toISOString()}: ${counts.join(', ')}\n`);
      } finally {
        await database.close();
      }
    });
}
