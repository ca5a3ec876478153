import { ReviewMismatchRequest, type CommandAck } from '@audit-ledger/domain';
import { Body, Controller, HttpCode, Param, Post, UseFilters } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { parseRequest, withPathParam } from '../../shared/request-validation.js';
import { MismatchErrorFilter } from './mismatch-error.filter.js';
import { ReviewMismatchCommand } from './review-mismatch.command.js';

/**
 * `POST /v1/mismatches/:mismatchId/review` with `{ streamId, reviewer, resolution, note? }`. The body names the
 * stream that holds the mismatch (as the MismatchDetected event and its alert show): no lookup table is needed.
 */
@Controller('v1/mismatches')
@UseFilters(MismatchErrorFilter)
export class ReviewMismatchHttpController {
  constructor(private readonly commandBus: CommandBus) {}

  @Post(':mismatchId/review')
  @HttpCode(201)
  review(@Param('mismatchId') mismatchId: string, @Body() body: unknown): Promise<CommandAck> {
    const payload = withPathParam(body, 'mismatchId', mismatchId);
    return this.commandBus.execute(
      new ReviewMismatchCommand(parseRequest(ReviewMismatchRequest, payload), 'security:http'),
    );
  }
}
