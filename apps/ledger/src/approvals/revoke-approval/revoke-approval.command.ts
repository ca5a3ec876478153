import type { CommandAck, ParsedRevokeApprovalRequest } from '@audit-ledger/domain';
import { Command } from '@nestjs/cqrs';

export class RevokeApprovalCommand extends Command<CommandAck> {
  constructor(
    readonly request: ParsedRevokeApprovalRequest,
    readonly actor: string,
    /** The call's request id, written into the events' metadata (`requestId`). */
    readonly requestId?: string,
  ) {
    super();
  }
}
