import { LogExecutionRequest, MESSAGE_PATTERNS, type CommandAck } from '@audit-ledger/domain';
import { Controller } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { parseRequest } from '../../shared/request-validation.js';
import { LogExecutionCommand } from './log-execution.command.js';

@Controller()
export class LogExecutionMessageController {
  constructor(private readonly commandBus: CommandBus) {}

  @MessagePattern(MESSAGE_PATTERNS.logExecution)
  logExecution(@Payload() payload: unknown): Promise<CommandAck> {
    return this.commandBus.execute(new LogExecutionCommand(parseRequest(LogExecutionRequest, payload), 'gateway:rpc'));
  }
}
