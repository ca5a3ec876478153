import { RejectApprovalRequest } from '@audit-ledger/domain';
import type { Command } from 'commander';
import type { CliIo } from '../shared/cli-io.js';
import { defined, parseInput } from '../shared/parse-input.js';
import { sendCommand } from '../shared/send-command.js';

interface RejectFlags {
  approval?: string;
  by?: string;
  reason?: string;
  instruction?: string;
  occurredAt?: string;
  requestedAt?: string;
  json: boolean;
}

const FLAGS_BY_FIELD = {
  approvalId: '--approval',
  by: '--by',
  reason: '--reason',
  instruction: '--instruction',
  occurredAt: '--occurred-at',
  requestedAt: '--requested-at',
};

/** `ledger reject`: an approval request was turned down. */
export function registerReject(program: Command, io: CliIo): void {
  program
    .command('reject')
    .description('record that an approval request was rejected (spooled if the ledger is unreachable)')
    .option('--approval <id>', 'approval id (required)')
    .option('--by <principal>', 'who rejected it (required)')
    .option('--reason <text>', 'why (required)')
    .option('--instruction <text>', 'what had been asked, in natural language')
    .option('--occurred-at <iso>', 'when it was decided (default: now; a spooled command keeps this time)')
    .option('--requested-at <iso>', 'when the gateway asked a human for this decision')
    .option('--json', 'print the result as JSON', false)
    .action(async (flags: RejectFlags, command: Command) => {
      const request = parseInput(
        RejectApprovalRequest,
        defined({
          approvalId: flags.approval,
          by: flags.by,
          reason: flags.reason,
          instruction: flags.instruction,
          occurredAt: flags.occurredAt,
          requestedAt: flags.requestedAt,
        }),
        'reject request',
        FLAGS_BY_FIELD,
      );
      await sendCommand(
        command,
        io,
        { what: 'reject request', flagsByField: FLAGS_BY_FIELD, json: flags.json },
        (client) => client.rejectApproval(request),
      );
    });
}
