import {
  actorOf,
  MESSAGE_PATTERNS,
  RevokeApprovalRequest,
  type CommandAck,
  type Principal,
} from '@audit-ledger/domain';
import { Controller } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { Allow, CurrentPrincipal } from '../../identity/access.js';
import { CurrentRequestId } from '../../logging/request-context.js';
import { parseRequest } from '../../shared/request-validation.js';
import { RevokeApprovalCommand } from './revoke-approval.command.js';

@Controller()
export class RevokeApprovalMessageController {
  constructor(private readonly commandBus: CommandBus) {}

  @MessagePattern(MESSAGE_PATTERNS.revokeApproval)
  @Allow('gateway')
  revoke(
    @Payload() payload: unknown,
    @CurrentPrincipal() principal: Principal,
    @CurrentRequestId() requestId: string | undefined,
  ): Promise<CommandAck> {
    return this.commandBus.execute(
      new RevokeApprovalCommand(parseRequest(RevokeApprovalRequest, payload), actorOf(principal), requestId),
    );
  }
}
