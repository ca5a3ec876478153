import type { CommandAck, ParsedReviewMismatchRequest } from '@audit-ledger/domain';
import { Command } from '@nestjs/cqrs';

export class ReviewMismatchCommand extends Command<CommandAck> {
  constructor(
    readonly request: ParsedReviewMismatchRequest,
    readonly actor: string,
  ) {
    super();
  }
}
