import { ArgumentsHost, Catch, HttpException, Inject, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { throwError, type Observable } from 'rxjs';
import { toErrorReply, type ErrorBody } from './error-body.js';
import { LOGGER } from './tokens.js';

/**
 * One filter for every transport (registered as APP_FILTER, so the microservice of a hybrid app gets it too):
 * errors leave as `{ error: { code, message, issues? } }`, over HTTP with the matching status, over RPC as the
 * error payload instead of Nest's bare "Internal server error".
 */
@Catch()
export class LedgerExceptionFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): Observable<ErrorBody> | void {
    if (host.getType() === 'rpc') {
      const { body, internal } = toErrorReply(exception);
      if (internal) this.logger.error({ err: exception }, 'RPC command failed');
      return throwError(() => body);
    }
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const code = status === 404 ? 'HTTP.NOT_FOUND' : status < 500 ? 'VALIDATION.MALFORMED_REQUEST' : 'INTERNAL';
      void reply.status(status).send({ error: { code, message: exception.message } });
      return;
    }
    const { status, body, internal } = toErrorReply(exception);
    if (internal) this.logger.error({ err: exception }, 'HTTP request failed');
    void reply.status(status).send(body);
  }
}
