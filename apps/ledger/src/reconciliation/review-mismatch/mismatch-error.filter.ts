import { MismatchAlreadyReviewedError, MismatchNotFoundError } from '@audit-ledger/domain';
import { ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

/** The review endpoint's own codes: an unknown mismatch is 404, a second, different review 409. */
@Catch(MismatchNotFoundError, MismatchAlreadyReviewedError)
export class MismatchErrorFilter implements ExceptionFilter {
  catch(error: MismatchNotFoundError | MismatchAlreadyReviewedError, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const status = error instanceof MismatchNotFoundError ? 404 : 409;
    void reply.status(status).send({ error: { code: error.code, message: error.message } });
  }
}
