import type { Command } from 'commander';
import { CliFailure } from '../shared/cli-failure.js';
import type { CliIo } from '../shared/cli-io.js';
import { EXIT_CODES } from '../shared/exit-codes.js';
import { connectionOf } from '../shared/connection-options.js';

/**
 * `ledger start`: the ledger with its configuration from the environment (see docs/operations.md); --host, --port
 * and --http-port, when given on the command line, override it. Runs until SIGINT or SIGTERM, then closes cleanly.
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
      // Loaded here only: the other commands should not pay for the whole service at start-up.
      const { runUntilStopped, WitnessRollbackError } = await import('@audit-ledger/ledger');
      const connection = connectionOf(command);
      const fromCommandLine = (name: string) => command.getOptionValueSourceWithGlobals(name) === 'cli';
      const signal = await runUntilStopped(
        {
          ...(fromCommandLine('host') ? { tcpHost: connection.host, httpHost: connection.host } : {}),
          ...(fromCommandLine('port') ? { tcpPort: connection.port } : {}),
          ...(fromCommandLine('httpPort') ? { httpPort: connection.httpPort } : {}),
          ...(flags.acknowledgeRollback !== undefined ? { acknowledgeRollback: flags.acknowledgeRollback } : {}),
        },
        (ledger) =>
          io.err(
            `ledger: tcp ${ledger.config.tcpHost}:${ledger.tcpPort}, http ${ledger.config.httpHost}:${ledger.httpPort}; SIGINT or SIGTERM stops it\n`,
          ),
      ).catch((error: unknown) => {
        // A database behind its witness: the message says what each holds and what to do (no stack trace).
        if (error instanceof WitnessRollbackError) throw new CliFailure(EXIT_CODES.failure, error.message);
        throw error;
      });
      io.err(`ledger: ${signal}, closed\n`);
    });
}
