import {
  actorOf,
  MESSAGE_PATTERNS,
  RejectApprovalRequest,
  type CommandAck,
  type Principal,
} from '@audit-ledger/domain';
import { Controller } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { Allow, CurrentPrincipal } from '../../identity/access.js';
import { CurrentRequestId } from '../../logging/request-context.js';
import { parseRequest } from '../../shared/request-validation.js';
import { RejectApprovalCommand } from './reject-approval.command.js';

@Controller()
export class RejectApprovalMessageController {
  constructor(private readonly commandBus: CommandBus) {}

  @MessagePattern(MESSAGE_PATTERNS.rejectApproval)
  @Allow('gateway')
  reject(
    @Payload() payload: unknown,
    @CurrentPrincipal() principal: Principal,
    @CurrentRequestId() requestId: string | undefined,
  ): Promise<CommandAck> {
    return this.commandBus.execute(
      new RejectApprovalCommand(parseRequest(RejectApprovalRequest, payload), actorOf(principal), requestId),
    );
  }
}
