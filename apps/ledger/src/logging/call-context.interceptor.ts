import {
  HttpException,
  Inject,
  Injectable,
  Optional,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { PATTERN_METADATA } from '@nestjs/microservices/constants.js';
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { catchError, type Observable, tap, throwError } from 'rxjs';
import type { LedgerConfig } from '../config/ledger.config.js';
import { principalOf } from '../identity/access.js';
import { LedgerMetrics, type Transport } from '../metrics/ledger-metrics.js';
import { toErrorReply } from '../shared/error-body.js';
import { LEDGER_CONFIG, LOGGER } from '../shared/tokens.js';
import { attachRequestId, requestIdOf } from './request-context.js';

/** The status and code a failed call answers with (as the exception filter maps it). */
function refusalOf(error: unknown): { status: number; code: string } {
  if (error instanceof HttpException) return { status: error.getStatus(), code: `HTTP.${error.getStatus()}` };
  const { status, body } = toErrorReply(error);
  return { status, code: body.error.code };
}

/** A refusal's kind for the metrics, from its error code. */
function refusalKind(code: string, status: number): string {
  if (code.startsWith('VALIDATION.') || status === 400) return 'validation';
  if (code.startsWith('AUTH.')) return 'auth';
  if (status === 409) return 'conflict';
  if (status === 404) return 'not_found';
  if (status === 503) return 'unavailable';
  return status >= 500 ? 'internal' : 'other';
}

/**
 * Every handled call runs with a request id (HTTP: Fastify's, from `X-Request-Id`; messages: a fresh one) that the
 * command path writes into the events' metadata. Messages get their access log line here; HTTP requests get theirs
 * from the Fastify hook (installHttpAccessLog), which also sees what the guards refuse. Refusals are counted by code.
 */
@Injectable()
export class CallContextInterceptor implements NestInterceptor {
  private readonly messageTransport: Transport;
  private readonly accessLog: boolean;

  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(LEDGER_CONFIG) config: LedgerConfig,
    @Optional() private readonly metrics?: LedgerMetrics,
  ) {
    this.messageTransport = config.transport === 'nats' ? 'nats' : 'tcp';
    this.accessLog = config.accessLog;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.getType() === 'http';
    const requestId = http ? context.switchToHttp().getRequest<FastifyRequest>().id : requestIdOf(undefined);
    const transport: Transport = http ? 'http' : this.messageTransport;
    attachRequestId(context, requestId);
    const started = performance.now();
    const done = (outcome: 'ok' | 'refused', code?: string) => {
      if (http) return;
      if (outcome === 'ok') this.metrics?.acknowledged(transport);
      if (!this.accessLog) return;
      const pattern: unknown = Reflect.getMetadata(PATTERN_METADATA, context.getHandler());
      this.logger.info(
        {
          requestId,
          transport,
          pattern: [pattern].flat()[0],
          principal: principalOf(context)?.id,
          outcome,
          ...(code ? { code } : {}),
          ms: Math.round((performance.now() - started) * 10) / 10,
        },
        'message',
      );
    };
    return next.handle().pipe(
      tap({ complete: () => done('ok') }),
      catchError((error: unknown) => {
        const { status, code } = refusalOf(error);
        this.metrics?.refused(refusalKind(code, status), code, transport);
        done('refused', code);
        return throwError(() => error);
      }),
    );
  }
}
