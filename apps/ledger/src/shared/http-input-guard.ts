import { jsonFidelityIssues, printablePathSegment } from '@audit-ledger/integrity';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { toErrorReply } from './error-body.js';
import { RequestValidationError, type FieldIssue } from './request-validation.js';

/** What the guard knows of one connection. */
interface ConnectionState {
  /** Requests the HTTP parser has emitted on this connection whose response has not closed yet. */
  pending: number;
  /** The parser met bytes that are not HTTP after a request: nothing not yet handled may be committed. */
  poisoned: boolean;
}

const MALFORMED_CONNECTION =
  'the connection carried bytes that are not HTTP after this request: the request was refused, nothing was recorded';

/**
 * What every HTTP request passes before a handler runs, whatever the route:
 * - path parameters, query values and the JSON body must be storable as JSON (no NUL, no lone surrogate, no
 *   integer beyond ±(2^53−1)): 400 naming the field, never a 500 from the database;
 * - a route answers 400 to a query parameter it does not document (the OpenAPI document is the list);
 * - a request followed on its connection by bytes that are not HTTP (pipelined garbage, in the same TCP write or a
 *   later one) is refused with 400 if its handler has not started: Node's parser emits the request, then, in the same
 *   tick, 'clientError' for the garbage, while the body is still read asynchronously; the guard marks the connection
 *   there and every request on it that has not reached its handler is refused. A handler already running finishes
 *   and answers; then the connection is closed.
 */
export class HttpInputGuard {
  private readonly connections = new WeakMap<Socket, ConnectionState>();
  /** `METHOD url-pattern` → the query parameters the route accepts. Routes not listed are not checked for names. */
  private knownQuery = new Map<string, readonly string[]>();

  /** Fastify's `clientErrorHandler` option. */
  readonly clientErrorHandler = (error: Error & { code?: string }, socket: Socket): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const state = this.connections.get(socket);
    if (state && state.pending > 0 && error.code !== 'ERR_HTTP_REQUEST_TIMEOUT') {
      // The requests already parsed answer first (refused if not yet handled); then the connection closes. A request
      // that timed out never finished arriving: nothing waits for it, so the connection closes at once (below).
      state.poisoned = true;
      socket.pause();
      return;
    }
    const [status, text] =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout']
        : error.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'Request Header Fields Too Large']
          : [400, 'Bad Request'];
    const body = JSON.stringify({
      error: { code: 'VALIDATION.MALFORMED_REQUEST', message: `${text}: the bytes sent are not a valid HTTP request` },
    });
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };

  /** Sets the query parameters each route accepts (from the OpenAPI document, once the app is built). */
  knowQueryParameters(byRoute: Map<string, readonly string[]>): void {
    this.knownQuery = byRoute;
  }

  /** Installs the checks on the Fastify instance (before the routes are registered). */
  install(fastify: FastifyInstance): void {
    // The raw 'request' event fires synchronously inside the parser, before any garbage behind the request is parsed.
    fastify.server.prependListener('request', (request: IncomingMessage, response: ServerResponse) => {
      const socket = request.socket;
      let state = this.connections.get(socket);
      if (!state) {
        state = { pending: 0, poisoned: false };
        this.connections.set(socket, state);
      }
      const current = state;
      current.pending += 1;
      response.once('close', () => {
        current.pending -= 1;
        if (current.poisoned && current.pending === 0) socket.destroy();
      });
    });
    fastify.addHook('preValidation', (request, reply, done) => {
      const refusal = this.refusal(request);
      if (!refusal) {
        done();
        return;
      }
      if (refusal.closeConnection) void reply.header('connection', 'close');
      const { status, body } = toErrorReply(refusal.error);
      void reply
        .status(status)
        .send(
          refusal.closeConnection
            ? { error: { code: 'VALIDATION.MALFORMED_REQUEST', message: MALFORMED_CONNECTION } }
            : body,
        );
    });
    // Body parsing is asynchronous: the garbage may have been seen after preValidation. Last look before the handler.
    fastify.addHook('preHandler', (request, reply: FastifyReply, done) => {
      if (!this.connections.get(request.raw.socket)?.poisoned) {
        done();
        return;
      }
      void reply
        .header('connection', 'close')
        .status(400)
        .send({ error: { code: 'VALIDATION.MALFORMED_REQUEST', message: MALFORMED_CONNECTION } });
    });
  }

  private refusal(request: FastifyRequest): { error: RequestValidationError; closeConnection: boolean } | undefined {
    if (this.connections.get(request.raw.socket)?.poisoned) {
      return {
        error: new RequestValidationError([{ path: '', message: MALFORMED_CONNECTION }]),
        closeConnection: true,
      };
    }
    const issues: FieldIssue[] = [
      ...jsonFidelityIssues(plain(request.params)),
      ...this.queryIssues(request),
      ...(request.body === undefined ? [] : jsonFidelityIssues(request.body)),
    ];
    return issues.length > 0 ? { error: new RequestValidationError(issues), closeConnection: false } : undefined;
  }

  private queryIssues(request: FastifyRequest): FieldIssue[] {
    const query = (request.query ?? {}) as Record<string, unknown>;
    const known = this.knownQuery.get(`${request.method} ${request.routeOptions.url ?? ''}`);
    const unknown = known
      ? Object.keys(query)
          .filter((name) => !known.includes(name))
          .map((name) => ({
            path: printablePathSegment(name),
            message:
              known.length === 0
                ? 'unknown query parameter (this route takes none)'
                : `unknown query parameter (known: ${known.join(', ')})`,
          }))
      : [];
    return [...unknown, ...jsonFidelityIssues(plain(query))];
  }
}

/** Fastify's params and query objects are not plain objects: their own members, as one. */
function plain(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? Object.fromEntries(Object.entries(value)) : {};
}

interface OpenApiLike {
  paths: object;
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** `METHOD /fastify/:pattern` → documented query parameter names, for every operation of the document. */
export function queryParametersByRoute(document: OpenApiLike): Map<string, readonly string[]> {
  const byRoute = new Map<string, readonly string[]>();
  for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, unknown>>)) {
    const url = path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');
    for (const method of HTTP_METHODS) {
      const operation = item[method] as { parameters?: { name: string; in: string }[] } | undefined;
      if (!operation) continue;
      const names = (operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      byRoute.set(`${method.toUpperCase()} ${url}`, names);
    }
  }
  return byRoute;
}
