import { ErasureReply } from '@audit-ledger/domain';
import type { Command } from 'commander';
import type { CliIo } from '../shared/cli-io.js';
import { CliFailure } from '../shared/cli-failure.js';
import { connectionOf } from '../shared/connection-options.js';
import { credentialFor } from '../shared/credential.js';
import { EXIT_CODES } from '../shared/exit-codes.js';
import { ledgerFetch, ledgerHttpBase } from '../shared/ledger-http.js';
import { answeredWith, errorOf } from './replay.http-client.js';

/**
 * `ledger erase <stream> --reason …`: one approval of the erasure of a stream's encrypted payloads, as the principal
 * of `--api-key` / LEDGER_API_KEY (it must hold both security and admin). The first approval is recorded and waits;
 * a second, distinct principal's erases: the stream's data key is destroyed, `PayloadErased` recorded, the read models
 * scrubbed (docs/operations.md "Erase").
 */
export function registerErase(program: Command, io: CliIo): void {
  program
    .command('erase')
    .description('approve erasing a stream’s encrypted payloads (two distinct security+admin principals erase)')
    .argument('<stream>', 'the stream id, e.g. approval-<id> or session-<id>')
    .requiredOption('--reason <text>', 'why (recorded in the erasure events), e.g. a request reference')
    .option('--json', 'print the answer as JSON', false)
    .action(async (streamId: string, flags: { reason: string; json: boolean }, command: Command) => {
      const credential = credentialFor(command, 'admin');
      if (!credential)
        throw new CliFailure(
          EXIT_CODES.badInput,
          'no credential: pass --api-key of a principal holding security and admin',
        );
      const reply = ErasureReply.parse(await postApproval(command, credential, { streamId, reason: flags.reason }));
      if (flags.json) return io.out(`${JSON.stringify(reply, null, 2)}\n`);
      io.out(
        reply.status === 'erased'
          ? `${streamId}: payloads erased (approved by ${reply.approvedBy.join(' and ') || 'earlier approvals'})\n`
          : `${streamId}: approval recorded; a second, distinct security+admin principal must approve to erase\n`,
      );
    });
}

async function postApproval(command: Command, credential: string, body: unknown): Promise<unknown> {
  const connection = connectionOf(command);
  const base = ledgerHttpBase(connection);
  const response = await ledgerFetch(connection, `${base}/v1/erasures/approvals`, {
    method: 'POST',
    headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).catch((error: unknown) => {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new CliFailure(EXIT_CODES.failure, `the ledger's HTTP API at ${base} does not answer (${cause})`);
  });
  const answer: unknown = await response.json().catch(() => undefined);
  if (response.ok) return answer;
  const error = errorOf(answer);
  const message = `the ledger answered ${error?.code ?? `HTTP ${response.status}`}: ${error?.message ?? ''}`;
  if (response.status === 404) throw new CliFailure(EXIT_CODES.notFound, message);
  if (response.status === 400) throw new CliFailure(EXIT_CODES.badInput, message);
  if ([401, 403, 409].includes(response.status)) throw new CliFailure(EXIT_CODES.refused, message);
  throw answeredWith(response.status, error);
}
