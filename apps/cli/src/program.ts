import { LedgerClientClosedError, SpoolLockedError, SpoolWriteError } from '@audit-ledger/client';
import { Command, CommanderError } from 'commander';
import { registerErase } from './commands/erase.command.js';
import { registerArchive } from './commands/archive.command.js';
import { registerExport } from './commands/export.command.js';
import { registerGrant } from './commands/grant.command.js';
import { registerKeys } from './commands/keys.command.js';
import { registerLogExecution } from './commands/log-execution.command.js';
import { registerRead } from './commands/read.command.js';
import { registerReconcile } from './commands/reconcile.command.js';
import { registerReject } from './commands/reject.command.js';
import { registerProjectionsRebuild } from './commands/projections-rebuild.command.js';
import { registerProjectionsRetryParked } from './commands/projections-retry-parked.command.js';
import { registerProjectionsTrim } from './commands/projections-trim.command.js';
import { registerReplay } from './commands/replay.command.js';
import { registerRevoke } from './commands/revoke.command.js';
import { registerSpoolDrain } from './commands/spool-drain.command.js';
import { registerStart } from './commands/start.command.js';
import { registerVerify } from './commands/verify.command.js';
import { registerVerifyBundle } from './commands/verify-bundle.command.js';
import { registerWitness } from './commands/witness.command.js';
import { CliFailure } from './shared/cli-failure.js';
import { processIo, type CliIo } from './shared/cli-io.js';
import { addConnectionOptions } from './shared/connection-options.js';
import { EXIT_CODES } from './shared/exit-codes.js';

function buildProgram(io: CliIo): Command {
  const program = new Command('ledger')
    .description('audit ledger: what agents were approved to do, and what they executed')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  addConnectionOptions(program);
  for (const register of [
    registerStart,
    registerLogExecution,
    registerGrant,
    registerReject,
    registerRevoke,
    registerRead,
    registerReconcile,
    registerSpoolDrain,
    registerVerify,
    registerKeys,
    registerReplay,
    registerErase,
    registerExport,
    registerVerifyBundle,
    registerArchive,
    registerProjectionsRebuild,
    registerWitness,
    registerProjectionsRetryParked,
    registerProjectionsTrim,
  ]) {
    register(program, io);
  }
  return program;
}

/** Runs one command line and returns the exit code; `argv` as in `process.argv` (node, script, arguments…). */
export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  try {
    await buildProgram(io).parseAsync(argv);
    return EXIT_CODES.ok;
  } catch (error) {
    return report(error, io);
  }
}

function report(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) {
    // Commander has printed its message already; help and version are not errors.
    return error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.badInput;
  }
  if (error instanceof CliFailure) {
    io.err(`error: ${error.message}\n${error.details.map((detail) => `  ${detail}\n`).join('')}`);
    return error.exitCode;
  }
  if (
    error instanceof SpoolWriteError ||
    error instanceof SpoolLockedError ||
    error instanceof LedgerClientClosedError
  ) {
    io.err(`error: ${error.message}\n`);
    return EXIT_CODES.failure;
  }
  io.err(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return EXIT_CODES.failure;
}
