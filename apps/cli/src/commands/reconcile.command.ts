import { InvalidArgumentError, type Command } from 'commander';
import { z } from 'zod';
import { badInput, CliFailure } from '../shared/cli-failure.js';
import type { CliIo } from '../shared/cli-io.js';
import { connectionOf } from '../shared/connection-options.js';
import { authorizationFor } from '../shared/credential.js';
import { ledgerFetch, ledgerHttpBase } from '../shared/ledger-http.js';
import { EXIT_CODES } from '../shared/exit-codes.js';
import { ErrorReply } from '../shared/stream-reply.js';
import { registerReconcileTest } from './reconcile-test.command.js';

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
type RerunReply = z.infer<typeof RerunReply>;

/** `--since`: an ISO-8601 instant with an offset, or a global position; passed to the ledger as given. */
const parseSince = (value: string): string => {
  if (/^\d{1,19}$/.test(value)) return value;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) && !isNaN(Date.parse(value))) {
    return value;
  }
  throw new InvalidArgumentError('must be an ISO-8601 instant with an offset (2026-11-01T00:00:00Z) or a position');
};

function formatRerun(reply: RerunReply & { state?: string }): string {
  const state = reply.state && reply.state !== 'finished' ? ` [${reply.state}]` : '';
  const lines = [
    `reconciler ${reply.reconcilerVersion}${state}: ${reply.examined} executions examined (through position ` +
      `${reply.lastPosition}), ${reply.recorded.length} verdicts changed\n`,
  ];
  for (const r of reply.recorded) {
    lines.push(`  ${r.streamId} ${r.executionId} → ${r.type}${r.kind ? ` (${r.kind})` : ''} ${r.eventId}\n`);
  }
  return lines.join('');
}

/** A re-run job as `GET /v1/reconciliation/reruns/{id}` shows it: the report plus its state. */
const RerunJob = RerunReply.extend({
  id: z.string(),
  state: z.enum(['running', 'finished', 'cancelled', 'failed']),
  total: z.number().int().nonnegative().nullable(),
  error: z.string().nullable().optional(),
});
type RerunJob = z.infer<typeof RerunJob>;

const POLL_MS = 500;

/**
 * `ledger reconcile --since <ISO time|position>`: starts a re-run job on the ledger (HTTP), follows its progress (on
 * stderr) until it ends and prints the report: only verdicts that changed are recorded. Ctrl-C cancels the job (the
 * ledger stops before its next execution) and prints what it did. Exits 1 when the job was cancelled or failed.
 */
export function registerReconcile(program: Command, io: CliIo): void {
  const reconcile = program
    .command('reconcile')
    .description(
      're-run reconciliation over recorded executions (records and prints only changed verdicts); ' +
        '`reconcile test` scores the reconciler on labelled cases',
    )
    // Not `requiredOption`: commander would then demand it of the `test` subcommand too.
    .option(
      '--since <instant|position>',
      'executions recorded at/after an ISO instant, or after a position (required)',
      parseSince,
    )
    .option('--json', 'print the ledger’s answer as JSON', false)
    .action(async (flags: { since?: string; json: boolean }, command: Command) => {
      if (flags.since === undefined) command.error("error: required option '--since <instant|position>' not specified");
      const since = flags.since;
      const connection = connectionOf(command);
      const base = ledgerHttpBase(connection);
      const authorization = authorizationFor(command, 'security'); // the job's requester is this principal
      const call = async (method: string, path: string, body?: unknown) => {
        const response = await ledgerFetch(connection, `${base}${path}`, {
          method,
          headers: {
            ...authorization,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        }).catch((error: unknown) => {
          const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
          throw new CliFailure(EXIT_CODES.failure, `the ledger's HTTP API at ${base} does not answer (${cause})`);
        });
        const reply: unknown = await response.json().catch(() => undefined);
        if (!response.ok) {
          if (response.status === 404 && method !== 'POST') {
            throw new CliFailure(EXIT_CODES.failure, `the ledger no longer knows job ${path} (restarted?)`);
          }
          throw failureOf(response.status, reply);
        }
        const job = RerunJob.safeParse(reply);
        if (!job.success) throw new CliFailure(EXIT_CODES.failure, `unexpected reply from ${base}${path}`);
        return { job: job.data, body: reply };
      };

      let { job, body } = await call('POST', '/v1/reconciliation/rerun', { since });
      const path = `/v1/reconciliation/reruns/${job.id}`;
      let cancelling: Promise<unknown> | undefined;
      const onInterrupt = () => {
        if (cancelling) {
          // A second Ctrl-C: stop waiting (the job is cancelled on the ledger's side anyway).
          process.off('SIGINT', onInterrupt);
          process.kill(process.pid, 'SIGINT');
          return;
        }
        io.err(`cancelling re-run job ${job.id}… (Ctrl-C again to stop waiting)\n`);
        cancelling = call('DELETE', path).catch(() => undefined);
      };
      process.on('SIGINT', onInterrupt);
      try {
        while (job.state === 'running') {
          io.err(`re-run ${job.id}: ${job.examined}/${job.total ?? '?'} examined, ${job.recorded.length} changed\n`);
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
          ({ job, body } = await call('GET', path));
        }
      } finally {
        process.off('SIGINT', onInterrupt);
      }
      io.out(flags.json ? `${JSON.stringify(body, null, 2)}\n` : formatRerun(job));
      if (job.state !== 'finished') {
        throw new CliFailure(
          EXIT_CODES.failure,
          `re-run job ${job.id} ${job.state}${job.error ? `: ${job.error}` : ''} after ${job.examined} of ` +
            `${job.total ?? '?'} executions`,
        );
      }
    });
  registerReconcileTest(reconcile, io);
}

function failureOf(status: number, body: unknown): CliFailure {
  const reply = ErrorReply.safeParse(body);
  if (status === 404) return new CliFailure(EXIT_CODES.failure, 'this ledger has no re-run endpoint (HTTP 404)');
  if (!reply.success) return new CliFailure(EXIT_CODES.failure, `the ledger answered HTTP ${status}`);
  const { code, message, issues } = reply.data.error;
  if (code.startsWith('VALIDATION.') && issues) return badInput('reconcile request', issues);
  return new CliFailure(EXIT_CODES.failure, `the ledger answered ${code}: ${message}`);
}
