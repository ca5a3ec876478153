import { LedgerClient, SPOOL_FILES, type DrainedEntry } from '@audit-ledger/client';
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { CliFailure } from '../shared/cli-failure.js';
import type { CliIo } from '../shared/cli-io.js';
import { cliLogger } from '../shared/cli-logger.js';
import { clientTlsOf } from '../shared/ledger-http.js';
import { connectionOf } from '../shared/connection-options.js';
import { credentialFor } from '../shared/credential.js';
import { optionalCredential } from '../shared/send-command.js';
import { EXIT_CODES } from '../shared/exit-codes.js';

/**
 * `ledger spool drain`: sends a spool by hand; exits 1 while entries remain (the ledger is still away), 6 when entries
 * were idempotency conflicts (kept in conflicts.jsonl).
 */
export function registerSpoolDrain(program: Command, io: CliIo): void {
  program
    .command('spool')
    .description('inspect and send spooled commands')
    .command('drain')
    .description('send what a spool holds, oldest first, and print what was sent and what remains')
    .option('--dir <dir>', 'the spool directory (default: --spool-dir)')
    .option('--json', 'print the report as JSON', false)
    .action(async (flags: { dir?: string; json: boolean }, command: Command) => {
      const connection = connectionOf(command);
      const spoolDir = flags.dir ?? connection.spoolDir;
      const client = new LedgerClient({
        host: connection.host,
        port: connection.port,
        ...(clientTlsOf(connection) ? { tls: clientTlsOf(connection)! } : {}),
        spoolDir,
        requestTimeoutMs: connection.timeout,
        maxFrameBytes: connection.maxFrameBytes,
        ...optionalCredential(credentialFor(command, 'gateway')),
        backgroundDrain: false,
        logger: cliLogger(io),
      });
      try {
        const report = await client.drainSpool({
          onEntry: (entry) => (flags.json ? undefined : io.out(describeEntry(entry))),
        });
        io.out(
          flags.json
            ? `${JSON.stringify({ spoolDir: resolve(spoolDir), ...report })}\n`
            : `${resolve(spoolDir)}: sent ${report.sent}, rejected ${report.rejected}, remaining ${report.remaining}` +
                `${report.conflicts > 0 ? `, conflicts ${report.conflicts} (kept in ${SPOOL_FILES.conflicts})` : ''}\n`,
        );
        if (report.conflicts > 0) {
          throw new CliFailure(
            EXIT_CODES.conflict,
            `${report.conflicts} spooled command(s) reuse an idempotency key the ledger holds with different content: ` +
              `kept in ${resolve(spoolDir, SPOOL_FILES.conflicts)}, nothing of them was recorded`,
          );
        }
        if (report.remaining > 0) {
          throw new CliFailure(
            EXIT_CODES.failure,
            `${report.remaining} spooled command(s) remain: the ledger at ${connection.host}:${connection.port} did not take them`,
          );
        }
      } finally {
        await client.close();
      }
    });
}

function describeEntry(entry: DrainedEntry): string {
  switch (entry.outcome) {
    case 'sent':
      return (
        `sent #${entry.seq} ${entry.pattern} -> ${entry.ack.streamId} revision ${entry.ack.streamRevision}` +
        `${entry.ack.duplicate ? ' (recorded before)' : ''}\n`
      );
    case 'rejected':
      return `rejected #${entry.seq} ${entry.pattern}: ${entry.error.code}: ${entry.error.message} (kept in rejected.jsonl)\n`;
    case 'conflict':
      return `CONFLICT #${entry.seq} ${entry.pattern}: ${entry.error.message} (kept in ${SPOOL_FILES.conflicts})\n`;
  }
}
