import type { CommandAck, ParsedRejectApprovalRequest } from '@audit-ledger/domain';
import { Command } from '@nestjs/cqrs';

export class RejectApprovalCommand extends Command<CommandAck> {
  constructor(
    readonly request: ParsedRejectApprovalRequest,
    readonly actor: string,
    /** The call's request id, written into the events' metadata (`requestId`). */
    readonly requestId?: string,
  ) {
    super();
  }
}
