import { MESSAGE_PATTERNS, RevokeApprovalRequest, type CommandAck } from '@audit-ledger/domain';
import { Controller } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { parseRequest } from '../../shared/request-validation.js';
import { RevokeApprovalCommand } from './revoke-approval.command.js';

@Controller()
export class RevokeApprovalMessageController {
  constructor(private readonly commandBus: CommandBus) {}

  @MessagePattern(MESSAGE_PATTERNS.revokeApproval)
  revoke(@Payload() payload: unknown): Promise<CommandAck> {
    return this.commandBus.execute(
      new RevokeApprovalCommand(parseRequest(RevokeApprovalRequest, payload), 'gateway:rpc'),
    );
  }
}
