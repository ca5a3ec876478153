import { LogExecutionRequest } from '@audit-ledger/domain';
import type { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { CliFailure } from '../shared/cli-failure.js';
import type { CliIo } from '../shared/cli-io.js';
import { EXIT_CODES } from '../shared/exit-codes.js';
import { defined, parseInput, toNumber } from '../shared/parse-input.js';
import { sendCommand } from '../shared/send-command.js';

interface LogExecutionFlags {
  approval?: string;
  session?: string;
  worker?: string;
  command?: string;
  exitCode?: string;
  output?: string;
  outputFile?: string;
  tool?: string;
  executionId?: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: string;
  token?: string;
  occurredAt?: string;
  json: boolean;
}

const FLAGS_BY_FIELD = {
  executionId: '--execution-id',
  approvalId: '--approval',
  sessionId: '--session',
  workerId: '--worker',
  toolName: '--tool',
  command: '--command',
  output: '--output / --output-file',
  exitCode: '--exit-code',
  startedAt: '--started-at',
  finishedAt: '--finished-at',
  durationMs: '--duration-ms',
  token: '--token',
  occurredAt: '--occurred-at',
};

export function registerLogExecution(program: Command, io: CliIo): void {
  program
    .command('log-execution')
    .description('record an execution of a command (spooled if the ledger is unreachable)')
    .option('--approval <id>', 'the approval it ran under (or --session)')
    .option('--session <id>', 'the session, for an action that needed no approval')
    .option('--worker <id>', 'the worker that ran it (required)')
    .option('--command <command>', 'the command line as executed (required)')
    .option('--exit-code <code>', 'its exit code, or "null" when it was killed (required)')
    .option('--output <text>', 'its output')
    .option('--output-file <path>', 'read its output from this file')
    .option('--tool <name>', 'the tool that ran it (default: shell)')
    .option('--execution-id <id>', 'idempotency key (default: a random UUID)')
    .option('--started-at <iso>', 'when it started (default: --finished-at, or now)')
    .option('--finished-at <iso>', 'when it finished (default: now)')
    .option('--duration-ms <ms>', 'its duration (default: finished minus started)')
    .option('--token <token>', 'the approval token it presented (the ledger stores only its HMAC)')
    .option('--occurred-at <iso>', 'when it was submitted (default: now; a spooled command keeps this time)')
    .option('--json', 'print the result as JSON', false)
    .action(async (flags: LogExecutionFlags, command: Command) => {
      const now = new Date().toISOString();
      const request = parseInput(
        LogExecutionRequest,
        defined({
          executionId: flags.executionId ?? randomUUID(),
          approvalId: flags.approval,
          sessionId: flags.session,
          workerId: flags.worker,
          toolName: flags.tool,
          command: flags.command,
          output: await outputOf(flags),
          exitCode: flags.exitCode?.trim() === 'null' ? null : toNumber(flags.exitCode),
          startedAt: flags.startedAt ?? flags.finishedAt ?? now,
          finishedAt: flags.finishedAt ?? now,
          durationMs: toNumber(flags.durationMs),
          token: flags.token,
          occurredAt: flags.occurredAt,
        }),
        'log-execution request',
        FLAGS_BY_FIELD,
      );
      await sendCommand(
        command,
        io,
        { what: 'log-execution request', flagsByField: FLAGS_BY_FIELD, json: flags.json },
        (client) => client.logExecution(request),
      );
    });
}

async function outputOf(flags: LogExecutionFlags): Promise<string | undefined> {
  if (flags.outputFile === undefined) return flags.output;
  if (flags.output !== undefined) {
    throw new CliFailure(EXIT_CODES.badInput, 'invalid log-execution request', [
      'output (--output / --output-file): give one of them, not both',
    ]);
  }
  try {
    return await readFile(flags.outputFile, 'utf8');
  } catch (error) {
    throw new CliFailure(EXIT_CODES.badInput, 'invalid log-execution request', [
      `output (--output-file): cannot read ${flags.outputFile}: ${(error as Error).message}`,
    ]);
  }
}
