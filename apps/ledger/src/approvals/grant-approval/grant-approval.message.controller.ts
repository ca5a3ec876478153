import { actorOf, GrantApprovalRequest, MESSAGE_PATTERNS, type CommandAck, type Principal } from '@audit-ledger/domain';
import { Controller } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { Allow, CurrentPrincipal } from '../../identity/access.js';
import { CurrentRequestId } from '../../logging/request-context.js';
import { parseRequest } from '../../shared/request-validation.js';
import { GrantApprovalCommand } from './grant-approval.command.js';

@Controller()
export class GrantApprovalMessageController {
  constructor(private readonly commandBus: CommandBus) {}

  @MessagePattern(MESSAGE_PATTERNS.grantApproval)
  @Allow('gateway')
  grant(
    @Payload() payload: unknown,
    @CurrentPrincipal() principal: Principal,
    @CurrentRequestId() requestId: string | undefined,
  ): Promise<CommandAck> {
    return this.commandBus.execute(
      new GrantApprovalCommand(parseRequest(GrantApprovalRequest, payload), actorOf(principal), requestId),
    );
  }
}
