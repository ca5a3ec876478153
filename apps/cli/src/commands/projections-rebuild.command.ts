import { Option, type Command } from 'commander';
import { CliFailure } from '../shared/cli-failure.js';
import { openDatabase } from '../shared/database-url.js';
import type { CliIo } from '../shared/cli-io.js';
import { EXIT_CODES } from '../shared/exit-codes.js';
import { progressBar } from '../shared/progress.js';

interface RebuildFlags {
  databaseUrl?: string;
  json: boolean;
}

/**
 * `ledger projections rebuild [name]`: rebuilds read models from position 0 into a shadow schema and swaps them in
 * atomically, in the database itself (DATABASE_URL or --database-url, the owner), next to a running ledger whose
 * projections pause only for the swap and then continue from the rebuilt checkpoints (docs/read-models.md).
 */
export function registerProjectionsRebuild(program: Command, io: CliIo): void {
  const projections =
    program.commands.find((command) => command.name() === 'projections') ??
    program.command('projections').description('read-model projections');
  projections
    .command('rebuild')
    .description(
      'rebuild read models from position 0 and swap them in atomically (a projection is rebuilt together with ' +
        'every projection that shares a table with it); default: all',
    )
    .argument('[name]', 'projection to rebuild')
    .addOption(new Option('--database-url <url>', 'PostgreSQL connection string (the owner)').env('DATABASE_URL'))
    .option('--json', 'print the result as JSON', false)
    .action(async (name: string | undefined, flags: RebuildFlags) => {
      const { plannedRebuild, rebuildReadModels } = await import('../projections/rebuild-read-models.js');
      const { UnknownProjectionError } = await import('@audit-ledger/read-models');
      const names = name === undefined ? undefined : [name];
      let plan: ReturnType<typeof plannedRebuild>;
      try {
        plan = plannedRebuild(names);
      } catch (error) {
        if (error instanceof UnknownProjectionError) {
          throw new CliFailure(EXIT_CODES.badInput, `unknown projection ${error.projection}`, [
            `known projections: ${error.known.join(', ')}`,
          ]);
        }
        throw error;
      }
      const database = await openDatabase(flags.databaseUrl, io);
      const databaseUrl = database.url;
      try {
        // Two steps per unit (built, swapped); the bar shows on a terminal only, and never with --json.
        const progress = flags.json ? undefined : progressBar('rebuilding', 'steps');
        const steps = plan.length * 2;
        let done = 0;
        const say = flags.json
          ? () => undefined
          : (text: string) => (progress ? progress.around(() => io.out(text)) : io.out(text));
        for (const unit of plan) {
          const extra = name === undefined ? [] : unit.projections.filter((p) => p !== name);
          say(
            `rebuilding ${unit.projections.join(', ')}` +
              (extra.length > 0
                ? ` (${name} shares tables with ${extra.join(', ')}, so they are rebuilt with it)`
                : '') +
              `: tables ${unit.tables.join(', ')}\n`,
          );
        }
        const units = await rebuildReadModels({
          databaseUrl,
          alertFromEnvironment: true,
          ...(names ? { names } : {}),
          onTrimmed: (report) => {
            const counts = Object.entries(report.trimmed).map(([table, n]) => `${table} ${n}`);
            say(
              `  trimmed again what retention had trimmed before ${report.cutoff?.toISOString()}: ${counts.join(', ')}\n`,
            );
          },
          onProgress: (step) => {
            if (step.step !== 'unit') progress?.update(++done, steps);
            else progress?.update(done, steps);
            if (step.step === 'built') {
              say(`  built from position 0: ${step.events} events read, up to position ${step.position}\n`);
            } else if (step.step === 'swapped') {
              const at = Object.entries(step.positions).map(([p, position]) => `${p}@${position}`);
              const rows = Object.entries(step.rows).map(([table, count]) => `${table} ${count}`);
              say(`  swapped in at ${at.join(', ')}; rows: ${rows.join(', ')}\n`);
            }
          },
        })
          .catch((error: unknown) => {
            throw new CliFailure(EXIT_CODES.failure, `rebuild failed: ${(error as Error).message}`);
          })
          .finally(() => progress?.stop());
        for (const p of units.flatMap((unit) => unit.parked)) {
          say(`  parked ${p.eventType} ${p.eventId} at position ${p.position} for ${p.projection}: ${p.error}\n`);
        }
        if (flags.json) io.out(`${JSON.stringify(units, null, 2)}\n`);
        else say(`done: the live read models were replaced; a running ledger continues from the new checkpoints\n`);
      } finally {
        await database.close();
      }
    });
}
