import type { ApproveErasureRequest, ErasureReply, Principal } from '@audit-ledger/domain';
import { Command } from '@nestjs/cqrs';

export class ApproveErasureCommand extends Command<ErasureReply> {
  constructor(
    readonly request: ApproveErasureRequest,
    readonly principal: Principal,
  ) {
    super();
  }
}
