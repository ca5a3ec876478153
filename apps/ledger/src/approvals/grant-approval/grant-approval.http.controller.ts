import { actorOf, CommandAck, GrantApprovalRequest, type Principal } from '@audit-ledger/domain';
import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiCreatedResponse } from '@nestjs/swagger';
import { Allow, CurrentPrincipal } from '../../identity/access.js';
import { CurrentRequestId } from '../../logging/request-context.js';
import { parseRequest } from '../../shared/request-validation.js';
import { GrantApprovalCommand } from './grant-approval.command.js';

@Controller('v1/approvals')
export class GrantApprovalHttpController {
  constructor(private readonly commandBus: CommandBus) {}

  @Post()
  @Allow('gateway')
  @HttpCode(201)
  @ApiCreatedResponse({ description: 'recorded (or recorded before: `duplicate`)', standardSchema: CommandAck })
  grant(
    @Body({ schema: GrantApprovalRequest }) body: unknown,
    @CurrentPrincipal() principal: Principal,
    @CurrentRequestId() requestId: string | undefined,
  ): Promise<CommandAck> {
    return this.commandBus.execute(
      new GrantApprovalCommand(parseRequest(GrantApprovalRequest, body), actorOf(principal), requestId),
    );
  }
}
