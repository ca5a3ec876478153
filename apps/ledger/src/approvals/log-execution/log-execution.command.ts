import type { CommandAck, ParsedLogExecutionRequest } from '@audit-ledger/domain';
import { Command } from '@nestjs/cqrs';

export class LogExecutionCommand extends Command<CommandAck> {
  constructor(
    readonly request: ParsedLogExecutionRequest,
    readonly actor: string,
    /** The call's request id, written into the events' metadata (`requestId`). */
    readonly requestId?: string,
  ) {
    super();
  }
}
