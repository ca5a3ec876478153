import { GrantApprovalRequest, MESSAGE_PATTERNS, type CommandAck } from '@audit-ledger/domain';
import { Controller } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { parseRequest } from '../../shared/request-validation.js';
import { GrantApprovalCommand } from './grant-approval.command.js';

@Controller()
export class GrantApprovalMessageController {
  constructor(private readonly commandBus: CommandBus) {}

  @MessagePattern(MESSAGE_PATTERNS.grantApproval)
  grant(@Payload() payload: unknown): Promise<CommandAck> {
    return this.commandBus.execute(
      new GrantApprovalCommand(parseRequest(GrantApprovalRequest, payload), 'gateway:rpc'),
    );
  }
}
