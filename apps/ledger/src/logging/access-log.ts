import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { LedgerMetrics } from '../metrics/ledger-metrics.js';
import { requestIdOf } from './request-context.js';

/** Fastify's request id: the caller's `X-Request-Id` when sane, else a uuid (see requestIdOf). */
export const genReqId = (request: { headers: Record<string, unknown> }): string =>
  requestIdOf(request.headers['x-request-id']);

/**
 * One access log line per HTTP request, refusals by the guards and the router included, with its request id (also
 * sent back as `X-Request-Id`). Long-lived responses (the SSE alert stream) log when they end.
 */
export function installHttpAccessLog(app: FastifyInstance, logger: Logger | undefined, metrics?: LedgerMetrics): void {
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    if (metrics && status < 400) metrics.acknowledged('http');
    logger?.info(
      {
        requestId: request.id,
        transport: 'http',
        method: request.method,
        url: request.url.split('?')[0],
        route: request.routeOptions.url,
        status,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        remote: request.ip,
      },
      'http request',
    );
    done();
  });
}
