import { actorOf, CommandAck, LogExecutionRequest, type Principal } from '@audit-ledger/domain';
import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiCreatedResponse } from '@nestjs/swagger';
import { Allow, CurrentPrincipal } from '../../identity/access.js';
import { CurrentRequestId } from '../../logging/request-context.js';
import { parseRequest } from '../../shared/request-validation.js';
import { LogExecutionCommand } from './log-execution.command.js';

@Controller('v1/executions')
export class LogExecutionHttpController {
  constructor(private readonly commandBus: CommandBus) {}

  @Post()
  @Allow('gateway')
  @HttpCode(201)
  @ApiCreatedResponse({ description: 'recorded (or recorded before: `duplicate`)', standardSchema: CommandAck })
  logExecution(
    @Body({ schema: LogExecutionRequest }) body: unknown,
    @CurrentPrincipal() principal: Principal,
    @CurrentRequestId() requestId: string | undefined,
  ): Promise<CommandAck> {
    return this.commandBus.execute(
      new LogExecutionCommand(parseRequest(LogExecutionRequest, body), actorOf(principal), requestId),
    );
  }
}
