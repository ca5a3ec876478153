import { Option, type Command } from 'commander';
import { CliFailure } from '../shared/cli-failure.js';
import { openDatabase } from '../shared/database-url.js';
import type { CliIo } from '../shared/cli-io.js';
import { EXIT_CODES } from '../shared/exit-codes.js';

interface RetryParkedFlags {
  databaseUrl?: string;
  json: boolean;
}

/**
 * `ledger projections retry-parked [name]`: applies the events a projection parked (it could not apply them) again,
 * in order, after a fix; those that now succeed are no longer parked, the others stay with their new error. In the
 * database itself (DATABASE_URL or --database-url, the owner), next to a running ledger (docs/read-models.md).
 * Exits 0 when nothing is left parked, 1 when some events still fail.
 */
export function registerProjectionsRetryParked(program: Command, io: CliIo): void {
  const projections =
    program.commands.find((command) => command.name() === 'projections') ??
    program.command('projections').description('read-model projections');
  projections
    .command('retry-parked')
    .description('apply parked events again (after a fix) and un-park those that now succeed; default: all projections')
    .argument('[name]', 'projection whose parked events to retry')
    .addOption(new Option('--database-url <url>', 'PostgreSQL connection string (the owner)').env('DATABASE_URL'))
    .option('--json', 'print the result as JSON', false)
    .action(async (name: string | undefined, flags: RetryParkedFlags) => {
      const { ledgerProjections } = await import('../projections/rebuild-read-models.js');
      const { retryParked } = await import('../projections/retry-parked-events.js');
      const { UnknownProjectionError } = await import('@audit-ledger/read-models');
      const known = ledgerProjections().map((p) => p.name);
      if (name !== undefined && !known.includes(name)) {
        throw new CliFailure(EXIT_CODES.badInput, `unknown projection ${name}`, [
          `known projections: ${known.join(', ')}`,
        ]);
      }
      const database = await openDatabase(flags.databaseUrl, io);
      const databaseUrl = database.url;
      try {
        const results = await retryParked({
          databaseUrl,
          ...(name === undefined ? {} : { names: [name] }),
        }).catch((error: unknown) => {
          if (error instanceof UnknownProjectionError) {
            throw new CliFailure(EXIT_CODES.badInput, `unknown projection ${error.projection}`);
          }
          throw new CliFailure(EXIT_CODES.failure, `retry failed: ${(error as Error).message}`);
        });
        if (flags.json) {
          io.out(`${JSON.stringify(results, null, 2)}\n`);
        } else {
          for (const result of results.filter((r) => r.retried > 0)) {
            io.out(`${result.projection}: ${result.retried} retried, ${result.applied} applied\n`);
            for (const still of result.stillParked) {
              io.out(
                `  still parked: position ${still.position} (${still.eventType} ${still.eventId}): ${still.error}\n`,
              );
            }
          }
          if (results.every((r) => r.retried === 0)) io.out('nothing parked\n');
        }
        const left = results.reduce((n, r) => n + r.stillParked.length, 0);
        if (left > 0) throw new CliFailure(EXIT_CODES.failure, `${left} event(s) still parked`);
      } finally {
        await database.close();
      }
    });
}
