import type { FastifyHttpOptions } from 'fastify';
import type { Server } from 'node:http';
import type { TlsOptions } from 'node:tls';
import { HTTP_BODY_LIMIT_BYTES, type LedgerConfig } from '../config/ledger.config.js';

/**
 * Fastify/Node HTTP server options bounding how long one connection can be held: the whole request must arrive
 * within `httpRequestTimeoutMs` (headers within `httpHeadersTimeoutMs`), an idle keep-alive connection is closed
 * after `httpKeepAliveTimeoutMs`, any socket without traffic either way after `httpIdleTimeoutMs` (SSE streams send a
 * heartbeat every 15 s). Node checks the request and headers deadlines every `connectionsCheckingInterval`.
 * With `tls`, an HTTPS server with the same bounds (Fastify passes only its `https` options to an HTTPS server).
 */
export function httpServerOptions(config: LedgerConfig, tls?: TlsOptions): FastifyHttpOptions<Server> {
  const shortest = Math.min(...[config.httpHeadersTimeoutMs, config.httpRequestTimeoutMs].filter((ms) => ms > 0));
  const server = {
    requestTimeout: config.httpRequestTimeoutMs,
    headersTimeout: config.httpHeadersTimeoutMs,
    connectionsCheckingInterval: Number.isFinite(shortest) ? Math.min(30_000, Math.max(100, shortest / 4)) : 30_000,
  };
  const fastify = {
    bodyLimit: HTTP_BODY_LIMIT_BYTES,
    requestTimeout: config.httpRequestTimeoutMs,
    keepAliveTimeout: config.httpKeepAliveTimeoutMs,
    connectionTimeout: config.httpIdleTimeoutMs,
  };
  // Fastify's types tie `https` to an HTTPS server type; at run time it only picks https.createServer over http's.
  return tls
    ? ({ ...fastify, https: { ...server, ...tls } } as FastifyHttpOptions<Server>)
    : { ...fastify, http: server };
}
