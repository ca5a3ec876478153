import { actorOf, CommandAck, ReviewMismatchRequest, type Principal } from '@audit-ledger/domain';
import { Body, Controller, HttpCode, Param, Post, UseFilters } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiCreatedResponse } from '@nestjs/swagger';
import { parseRequest, withPathParam } from '../../shared/request-validation.js';
import { MismatchErrorFilter } from './mismatch-error.filter.js';
import { ReviewMismatchCommand } from './review-mismatch.command.js';
import { Allow, CurrentPrincipal } from '../../identity/access.js';

/**
 * `POST /v1/mismatches/:mismatchId/review` with `{ streamId, resolution, note? }`. The body names the stream that
 * holds the mismatch (as the MismatchDetected event and its alert show): no lookup table is needed. The reviewer is
 * the authenticated principal; a `reviewer` the body may still carry (older clients) is ignored.
 */
/**
 * The body as documented: the request without the id the path carries. Exported because ESLint's
 * no-useless-assignment does not see its use in a parameter decorator.
 * @public
 */
export const ReviewMismatchBody = ReviewMismatchRequest.omit({ mismatchId: true });

@Controller('v1/mismatches')
@UseFilters(MismatchErrorFilter)
export class ReviewMismatchHttpController {
  constructor(private readonly commandBus: CommandBus) {}

  @Post(':mismatchId/review')
  @Allow('security')
  @HttpCode(201)
  @ApiCreatedResponse({ description: 'recorded (or recorded before: `duplicate`)', standardSchema: CommandAck })
  review(
    @Param('mismatchId') mismatchId: string,
    @Body({ schema: ReviewMismatchBody }) body: unknown,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CommandAck> {
    const payload = withPathParam(body, 'mismatchId', mismatchId);
    return this.commandBus.execute(
      new ReviewMismatchCommand(parseRequest(ReviewMismatchRequest, payload), actorOf(principal)),
    );
  }
}
