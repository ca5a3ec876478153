import type { Command } from 'commander';
import { badInput, CliFailure } from '../shared/cli-failure.js';
import type { CliIo } from '../shared/cli-io.js';
import { connectionOf } from '../shared/connection-options.js';
import { authorizationFor, CREDENTIAL_HINT } from '../shared/credential.js';
import { ledgerFetch, ledgerHttpBase } from '../shared/ledger-http.js';
import { EXIT_CODES } from '../shared/exit-codes.js';
import { formatStream } from '../shared/format-stream.js';
import { ErrorReply, StreamReply } from '../shared/stream-reply.js';

export function registerRead(program: Command, io: CliIo): void {
  program
    .command('read')
    .description("print a stream's events (e.g. approval-A1), over the ledger's HTTP API")
    .argument('<stream>', 'stream id: approval-<approvalId> or session-<sessionId>')
    .option('--json', 'print the events as JSON, as the API returns them', false)
    .action(async (streamId: string, flags: { json: boolean }, command: Command) => {
      const connection = connectionOf(command);
      const base = ledgerHttpBase(connection);
      const url = `${base}/v1/streams/${encodeURIComponent(streamId)}`;
      // `read` shows raw events: a security principal's read (recorded as theirs by the ledger's audit of reads).
      const response = await ledgerFetch(connection, url, { headers: authorizationFor(command, 'security') }).catch(
        (error: unknown) => {
          const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
          throw new CliFailure(EXIT_CODES.failure, `the ledger's HTTP API at ${base} does not answer (${cause})`);
        },
      );
      const body: unknown = await response.json().catch(() => undefined);
      if (!response.ok) throw failureOf(response.status, body, streamId);
      const stream = StreamReply.safeParse(body);
      if (!stream.success) throw new CliFailure(EXIT_CODES.failure, `unexpected reply from ${url}`);
      io.out(flags.json ? `${JSON.stringify(body, null, 2)}\n` : formatStream(stream.data));
    });
}

function failureOf(status: number, body: unknown, streamId: string): CliFailure {
  const reply = ErrorReply.safeParse(body);
  if (status === 404) return new CliFailure(EXIT_CODES.notFound, `stream ${streamId} not found`);
  if (!reply.success) return new CliFailure(EXIT_CODES.failure, `the ledger answered HTTP ${status}`);
  const { code, message, issues } = reply.data.error;
  if (code.startsWith('VALIDATION.') && issues) return badInput('read request', issues);
  return new CliFailure(
    EXIT_CODES.failure,
    `the ledger answered ${code}: ${message}${status === 401 ? ` (${CREDENTIAL_HINT})` : ''}`,
  );
}
