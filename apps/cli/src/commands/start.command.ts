import type { Command } from 'commander';
import { CliFailure } from '../shared/cli-failure.js';
import type { CliIo } from '../shared/cli-io.js';
import { EXIT_CODES } from '../shared/exit-codes.js';
import { connectionOf } from '../shared/connection-options.js';
import { ledgerMain, runLedgerProcess } from '../shared/ledger-process.js';

/**
 * `ledger start`: runs the ledger app (its built entry point, as a child process) with its configuration from the
 * environment (see docs/operations.md); --host, --port, --http-port and --acknowledge-rollback, when given on the
 * command line, override it as the LEDGER_* variables the app reads. SIGINT or SIGTERM to this process stops the
 * ledger cleanly; the exit code is the ledger's.
 */
export function registerStart(program: Command, io: CliIo): void {
  program
    .command('start')
    .description('run the ledger service until SIGINT/SIGTERM (configuration from LEDGER_* variables)')
    .option(
      '--acknowledge-rollback <checkpointHash>',
      'start although the database is behind its witness, abandoning the witness checkpoint named (recorded as an event)',
    )
    .action(async (flags: { acknowledgeRollback?: string }, command: Command) => {
      const main = ledgerMain();
      if (main === undefined) {
        throw new CliFailure(
          EXIT_CODES.failure,
          'the ledger app (@audit-ledger/ledger) is not installed or not built: ledger start runs its dist/main.js',
        );
      }
      const connection = connectionOf(command);
      const fromCommandLine = (name: string) => command.getOptionValueSourceWithGlobals(name) === 'cli';
      const end = await runLedgerProcess(main, {
        ...(fromCommandLine('host') ? { LEDGER_TCP_HOST: connection.host, LEDGER_HTTP_HOST: connection.host } : {}),
        ...(fromCommandLine('port') ? { LEDGER_TCP_PORT: String(connection.port) } : {}),
        ...(fromCommandLine('httpPort') ? { LEDGER_HTTP_PORT: String(connection.httpPort) } : {}),
        ...(flags.acknowledgeRollback !== undefined ? { LEDGER_ACKNOWLEDGE_ROLLBACK: flags.acknowledgeRollback } : {}),
      });
      // A refusal to start (a database behind its witness…): the ledger has said why on stderr, without a stack.
      if (end.signal !== null) throw new CliFailure(EXIT_CODES.failure, `the ledger was ended by ${end.signal}`);
      if (end.code !== 0)
        throw new CliFailure(end.code ?? EXIT_CODES.failure, `the ledger exited with code ${end.code}`);
      if (end.forwarded) io.err(`ledger: ${end.forwarded}, closed\n`);
    });
}
