import {
  LedgerClient,
  LedgerRejectedError,
  LedgerValidationError,
  SpoolLockedError,
  SPOOL_FILES,
  type LedgerCommandResult,
} from '@audit-ledger/client';
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { badInput, CliFailure } from './cli-failure.js';
import type { CliIo } from './cli-io.js';
import { cliLogger } from './cli-logger.js';
import { clientTlsOf } from './ledger-http.js';
import { connectionOf } from './connection-options.js';
import { credentialFor } from './credential.js';
import { EXIT_CODES } from './exit-codes.js';

export interface CommandOutput {
  /** How the request is named in messages, e.g. `log-execution request`. */
  what: string;
  flagsByField: Record<string, string>;
  json: boolean;
}

/**
 * Runs one gateway command through the client: commands spooled by earlier runs go first, then this one. An
 * unreachable ledger means "spooled" (exit 0, a warning on stderr), not a failure.
 */
export async function sendCommand(
  command: Command,
  io: CliIo,
  output: CommandOutput,
  send: (client: LedgerClient) => Promise<LedgerCommandResult>,
): Promise<void> {
  const connection = connectionOf(command);
  const client = new LedgerClient({
    host: connection.host,
    port: connection.port,
    ...(clientTlsOf(connection) ? { tls: clientTlsOf(connection)! } : {}),
    spoolDir: connection.spoolDir,
    requestTimeoutMs: connection.timeout,
    maxFrameBytes: connection.maxFrameBytes,
    ...optionalCredential(credentialFor(command, 'gateway')),
    backgroundDrain: false,
    logger: cliLogger(io),
  });
  try {
    // A spool held by another live process is that process's to drain (the client has warned): go on without it.
    const earlier = await client.drainSpool().catch((error: unknown) => {
      if (error instanceof SpoolLockedError) return undefined;
      throw error;
    });
    if (earlier?.sent) io.err(`note: sent ${earlier.sent} command(s) spooled earlier first\n`);
    if (earlier?.conflicts) {
      io.err(
        `warning: ${earlier.conflicts} command(s) spooled earlier reuse an idempotency key for other content: ` +
          `kept in ${resolve(connection.spoolDir, SPOOL_FILES.conflicts)}, not recorded\n`,
      );
    }
    const result = await send(client).catch((error: unknown) => {
      throw toCliFailure(error, output);
    });
    io.out(output.json ? `${JSON.stringify(result)}\n` : describeResult(result, connection.spoolDir));
  } finally {
    await client.close();
  }
}

function describeResult(result: LedgerCommandResult, spoolDir: string): string {
  if (result.status === 'spooled') {
    return (
      `spooled as entry #${result.spoolSeq} in ${resolve(spoolDir)}: the ledger did not take it now; ` +
      '`ledger spool drain` (or the next command) sends it\n'
    );
  }
  const { ack } = result;
  return [
    `acknowledged: ${ack.streamId} revision ${ack.streamRevision}, position ${ack.globalPosition}` +
      (ack.duplicate ? ' (recorded before: nothing new appended)' : ''),
    `event ${ack.eventId}`,
    `hash ${ack.hash}`,
    '',
  ].join('\n');
}

function toCliFailure(error: unknown, output: CommandOutput): unknown {
  if (error instanceof LedgerValidationError) return badInput(output.what, error.issues, output.flagsByField);
  if (error instanceof LedgerRejectedError) {
    return error.code.startsWith('VALIDATION.')
      ? badInput(output.what, error.issues, output.flagsByField)
      : new CliFailure(EXIT_CODES.refused, `the ledger refused the ${output.what}: ${error.code}: ${error.message}`);
  }
  return error;
}

/** The client's `credential` option, left out when there is none (the client then looks for none either). */
export const optionalCredential = (credential: string | undefined): { credential?: string } =>
  credential === undefined ? {} : { credential };
