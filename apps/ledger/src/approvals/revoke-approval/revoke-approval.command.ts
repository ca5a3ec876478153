import type { CommandAck, ParsedRevokeApprovalRequest } from '@audit-ledger/domain';
import { Command } from '@nestjs/cqrs';

export class RevokeApprovalCommand extends Command<CommandAck> {
  constructor(
    readonly request: ParsedRevokeApprovalRequest,
    readonly actor: string,
  ) {
    super();
  }
}
