import { MismatchAlreadyReviewedError, MismatchNotFoundError } from '@audit-ledger/domain';
import type { IdempotencyConflictDetails } from '@audit-ledger/event-store';
import { ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

/** A second, different review: the domain's refusal, with the stored review's event and what differs. */
export class MismatchReviewConflictError extends MismatchAlreadyReviewedError {
  constructor(
    refused: MismatchAlreadyReviewedError,
    readonly details: IdempotencyConflictDetails,
  ) {
    super(refused.mismatchId, refused.review);
  }
}

/** The review endpoint's own codes: an unknown mismatch is 404, a second, different review 409. */
@Catch(MismatchNotFoundError, MismatchAlreadyReviewedError)
export class MismatchErrorFilter implements ExceptionFilter {
  catch(error: MismatchNotFoundError | MismatchAlreadyReviewedError, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const status = error instanceof MismatchNotFoundError ? 404 : 409;
    const details = error instanceof MismatchReviewConflictError ? { details: error.details } : {};
    void reply.status(status).send({ error: { code: error.code, message: error.message, ...details } });
  }
}
