import { InvalidArgumentError, type Command } from 'commander';
import { z } from 'zod';
import { badInput, CliFailure } from '../shared/cli-failure.js';
import type { CliIo } from '../shared/cli-io.js';
import { connectionOf } from '../shared/connection-options.js';
import { EXIT_CODES } from '../shared/exit-codes.js';
import { ErrorReply } from '../shared/stream-reply.js';

/** What `POST /v1/reconciliation/rerun` answers (apps/ledger `RerunReport`). */
const RerunReply = z.object({
  reconcilerVersion: z.string(),
  examined: z.number().int().nonnegative(),
  recorded: z.array(
    z.object({
      streamId: z.string(),
      executionId: z.string(),
      type: z.string(),
      kind: z.string().optional(),
      eventId: z.string(),
    }),
  ),
  lastPosition: z.string(),
});
export type RerunReply = z.infer<typeof RerunReply>;

/** `--since`: an ISO-8601 instant with an offset, or a global position; passed to the ledger as given. */
export const parseSince = (value: string): string => {
  if (/^\d{1,19}$/.test(value)) return value;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) && !isNaN(Date.parse(value))) {
    return value;
  }
  throw new InvalidArgumentError('must be an ISO-8601 instant with an offset (2026-11-01T00:00:00Z) or a position');
};

export function formatRerun(reply: RerunReply): string {
  const lines = [
    `reconciler ${reply.reconcilerVersion}: ${reply.examined} executions examined (through position ` +
      `${reply.lastPosition}), ${reply.recorded.length} verdicts changed\n`,
  ];
  for (const r of reply.recorded) {
    lines.push(`  ${r.streamId} ${r.executionId} → ${r.type}${r.kind ? ` (${r.kind})` : ''} ${r.eventId}\n`);
  }
  return lines.join('');
}

/**
 * `ledger reconcile --since <ISO time|position>`: asks the ledger (HTTP) to re-run the current reconciler over the
 * executions recorded since then; it records only verdicts that changed, and this prints how many.
 */
export function registerReconcile(program: Command, io: CliIo): void {
  program
    .command('reconcile')
    .description('re-run reconciliation over recorded executions; records and prints only changed verdicts')
    .requiredOption(
      '--since <instant|position>',
      'executions recorded at/after an ISO instant, or after a position',
      parseSince,
    )
    .option('--json', 'print the ledger’s answer as JSON', false)
    .action(async (flags: { since: string; json: boolean }, command: Command) => {
      const { host, httpPort } = connectionOf(command);
      const url = `http://${host}:${httpPort}/v1/reconciliation/rerun`;
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ since: flags.since }),
      }).catch((error: unknown) => {
        const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
        throw new CliFailure(
          EXIT_CODES.failure,
          `the ledger's HTTP API at ${host}:${httpPort} does not answer (${cause})`,
        );
      });
      const body: unknown = await response.json().catch(() => undefined);
      if (!response.ok) throw failureOf(response.status, body);
      const reply = RerunReply.safeParse(body);
      if (!reply.success) throw new CliFailure(EXIT_CODES.failure, `unexpected reply from ${url}`);
      io.out(flags.json ? `${JSON.stringify(body, null, 2)}\n` : formatRerun(reply.data));
    });
}

function failureOf(status: number, body: unknown): CliFailure {
  const reply = ErrorReply.safeParse(body);
  if (status === 404) return new CliFailure(EXIT_CODES.failure, 'this ledger has no re-run endpoint (HTTP 404)');
  if (!reply.success) return new CliFailure(EXIT_CODES.failure, `the ledger answered HTTP ${status}`);
  const { code, message, issues } = reply.data.error;
  if (code.startsWith('VALIDATION.') && issues) return badInput('reconcile request', issues);
  return new CliFailure(EXIT_CODES.failure, `the ledger answered ${code}: ${message}`);
}
