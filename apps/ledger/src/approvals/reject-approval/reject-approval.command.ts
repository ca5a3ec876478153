import type { CommandAck, ParsedRejectApprovalRequest } from '@audit-ledger/domain';
import { Command } from '@nestjs/cqrs';

export class RejectApprovalCommand extends Command<CommandAck> {
  constructor(
    readonly request: ParsedRejectApprovalRequest,
    readonly actor: string,
  ) {
    super();
  }
}
