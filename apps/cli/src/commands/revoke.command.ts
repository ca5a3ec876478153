import { RevokeApprovalRequest } from '@audit-ledger/domain';
import type { Command } from 'commander';
import type { CliIo } from '../shared/cli-io.js';
import { defined, parseInput } from '../shared/parse-input.js';
import { sendCommand } from '../shared/send-command.js';

interface RevokeFlags {
  approval?: string;
  by?: string;
  reason?: string;
  occurredAt?: string;
  json: boolean;
}

const FLAGS_BY_FIELD = {
  approvalId: '--approval',
  by: '--by',
  reason: '--reason',
  occurredAt: '--occurred-at',
};

/** `ledger revoke`: a granted approval was withdrawn. */
export function registerRevoke(program: Command, io: CliIo): void {
  program
    .command('revoke')
    .description('record that a granted approval was revoked (spooled if the ledger is unreachable)')
    .option('--approval <id>', 'approval id (required)')
    .option('--by <principal>', 'who revoked it (required)')
    .option('--reason <text>', 'why (required)')
    .option('--occurred-at <iso>', 'when it was decided (default: now; a spooled command keeps this time)')
    .option('--json', 'print the result as JSON', false)
    .action(async (flags: RevokeFlags, command: Command) => {
      const request = parseInput(
        RevokeApprovalRequest,
        defined({ approvalId: flags.approval, by: flags.by, reason: flags.reason, occurredAt: flags.occurredAt }),
        'revoke request',
        FLAGS_BY_FIELD,
      );
      await sendCommand(
        command,
        io,
        { what: 'revoke request', flagsByField: FLAGS_BY_FIELD, json: flags.json },
        (client) => client.revokeApproval(request),
      );
    });
}
