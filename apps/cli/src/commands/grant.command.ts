import { GrantApprovalRequest } from '@audit-ledger/domain';
import type { Command } from 'commander';
import type { CliIo } from '../shared/cli-io.js';
import { collect, defined, parseInput, toNumber } from '../shared/parse-input.js';
import { sendCommand } from '../shared/send-command.js';

interface GrantFlags {
  approval?: string;
  instruction?: string;
  command: string[];
  risk?: string;
  approvedBy?: string;
  decision?: string;
  requestedByWorker?: string;
  requestedByAgent?: string;
  requestedBySession?: string;
  scopePath: string[];
  scopeHost: string[];
  expiresAt?: string;
  maxExecutions?: string;
  token?: string;
  approverAssertion?: string;
  occurredAt?: string;
  requestedAt?: string;
  json: boolean;
}

const FLAGS_BY_FIELD = {
  approvalId: '--approval',
  instruction: '--instruction',
  approvedCommands: '--command',
  riskLevel: '--risk',
  approvedBy: '--approved-by',
  decision: '--decision',
  'requestedBy.workerId': '--requested-by-worker',
  'requestedBy.agentId': '--requested-by-agent',
  'requestedBy.sessionId': '--requested-by-session',
  'scope.paths': '--scope-path',
  'scope.hosts': '--scope-host',
  expiresAt: '--expires-at',
  maxExecutions: '--max-executions',
  token: '--token',
  approverAssertion: '--approver-assertion',
  occurredAt: '--occurred-at',
  requestedAt: '--requested-at',
};

export function registerGrant(program: Command, io: CliIo): void {
  program
    .command('grant')
    .description('record that an approval was granted (spooled if the ledger is unreachable)')
    .option('--approval <id>', 'approval id (required)')
    .option('--instruction <text>', 'what was approved, in natural language (required)')
    .option('--command <command>', 'an approved command line (repeatable)', collect, [])
    .option('--risk <level>', 'safe | moderate | destructive | critical (required)')
    .option('--approved-by <principal>', 'who approved it (required unless --approver-assertion proves it)')
    .option('--decision <decision>', 'approved | auto (default: approved)')
    .option('--requested-by-worker <id>', 'the worker that asked')
    .option('--requested-by-agent <id>', 'the agent that asked')
    .option('--requested-by-session <id>', 'the session it was asked in')
    .option('--scope-path <path>', 'a path the approval covers (repeatable)', collect, [])
    .option('--scope-host <host>', 'a host the approval covers (repeatable)', collect, [])
    .option('--expires-at <iso>', 'when the approval expires')
    .option('--max-executions <n>', 'how many executions it allows')
    .option('--token <token>', 'the approval token handed to the worker (the ledger stores only its HMAC)')
    .option(
      '--approver-assertion <jwt>',
      "the approver's own signed JWT: the ledger records its verified subject as the approver (never the token)",
    )
    .option('--occurred-at <iso>', 'when it was decided (default: now; a spooled command keeps this time)')
    .option('--requested-at <iso>', 'when the gateway asked a human for this decision')
    .option('--json', 'print the result as JSON', false)
    .action(async (flags: GrantFlags, command: Command) => {
      const requestedBy = defined({
        workerId: flags.requestedByWorker,
        agentId: flags.requestedByAgent,
        sessionId: flags.requestedBySession,
      });
      const scope = defined({
        paths: flags.scopePath.length > 0 ? flags.scopePath : undefined,
        hosts: flags.scopeHost.length > 0 ? flags.scopeHost : undefined,
      });
      const request = parseInput(
        GrantApprovalRequest,
        defined({
          approvalId: flags.approval,
          instruction: flags.instruction,
          approvedCommands: flags.command,
          riskLevel: flags.risk,
          approvedBy: flags.approvedBy,
          decision: flags.decision,
          requestedBy: Object.keys(requestedBy).length > 0 ? requestedBy : undefined,
          scope: Object.keys(scope).length > 0 ? scope : undefined,
          expiresAt: flags.expiresAt,
          maxExecutions: toNumber(flags.maxExecutions),
          token: flags.token,
          approverAssertion: flags.approverAssertion,
          occurredAt: flags.occurredAt,
          requestedAt: flags.requestedAt,
        }),
        'grant request',
        FLAGS_BY_FIELD,
      );
      await sendCommand(
        command,
        io,
        { what: 'grant request', flagsByField: FLAGS_BY_FIELD, json: flags.json },
        (client) => client.grantApproval(request),
      );
    });
}
