import type { Command } from 'commander';
import type { CliIo } from '../shared/cli-io.js';
import { addEvidenceExports } from './export-evidence.command.js';
import { addExecutionsExport } from './export-executions.command.js';

/**
 * `ledger export`: `--format csv|json|jsonl [--filter k=v …]` (executions, the default subcommand),
 * `approval <id>` and `evidence --approval|--stream` (evidence bundles for offline verification). The parent has no
 * options of its own, so each subcommand owns its `--out`.
 */
export function registerExport(program: Command, io: CliIo): void {
  const exportCommand = program
    .command('export')
    .description('export audit data: `export --format csv|json|jsonl` (executions), `export approval <id>` (evidence)');
  addExecutionsExport(exportCommand, io);
  addEvidenceExports(exportCommand, io);
}
