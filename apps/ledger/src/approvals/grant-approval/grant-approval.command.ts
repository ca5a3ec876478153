import type { CommandAck, ParsedGrantApprovalRequest } from '@audit-ledger/domain';
import { Command } from '@nestjs/cqrs';

export class GrantApprovalCommand extends Command<CommandAck> {
  constructor(
    readonly request: ParsedGrantApprovalRequest,
    readonly actor: string,
    /** The call's request id, written into the events' metadata (`requestId`). */
    readonly requestId?: string,
  ) {
    super();
  }
}
