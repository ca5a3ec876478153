import type { CommandAck, ParsedLogExecutionRequest } from '@audit-ledger/domain';
import { Command } from '@nestjs/cqrs';

export class LogExecutionCommand extends Command<CommandAck> {
  constructor(
    readonly request: ParsedLogExecutionRequest,
    readonly actor: string,
  ) {
    super();
  }
}
