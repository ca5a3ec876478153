import { CommandAck, LogExecutionRequest } from '@audit-ledger/domain';
import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiCreatedResponse } from '@nestjs/swagger';
import { parseRequest } from '../../shared/request-validation.js';
import { LogExecutionCommand } from './log-execution.command.js';

@Controller('v1/executions')
export class LogExecutionHttpController {
  constructor(private readonly commandBus: CommandBus) {}

  @Post()
  @HttpCode(201)
  @ApiCreatedResponse({ description: 'recorded (or recorded before: `duplicate`)', standardSchema: CommandAck })
  logExecution(@Body({ schema: LogExecutionRequest }) body: unknown): Promise<CommandAck> {
    return this.commandBus.execute(new LogExecutionCommand(parseRequest(LogExecutionRequest, body), 'gateway:http'));
  }
}
