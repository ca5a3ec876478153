import { MESSAGE_PATTERNS, RejectApprovalRequest, type CommandAck } from '@audit-ledger/domain';
import { Controller } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { parseRequest } from '../../shared/request-validation.js';
import { RejectApprovalCommand } from './reject-approval.command.js';

@Controller()
export class RejectApprovalMessageController {
  constructor(private readonly commandBus: CommandBus) {}

  @MessagePattern(MESSAGE_PATTERNS.rejectApproval)
  reject(@Payload() payload: unknown): Promise<CommandAck> {
    return this.commandBus.execute(
      new RejectApprovalCommand(parseRequest(RejectApprovalRequest, payload), 'gateway:rpc'),
    );
  }
}
