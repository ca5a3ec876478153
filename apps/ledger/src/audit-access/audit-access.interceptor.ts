import { actorOf } from '@audit-ledger/domain';
import {
  HttpException,
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { tap, type Observable } from 'rxjs';
import { principalOf } from '../identity/access.js';
import { toErrorReply } from '../shared/error-body.js';
import { AuditAccessRecorder } from './audit-access.recorder.js';

interface HttpRequestLike {
  method?: string;
  url?: string;
  headers?: Record<string, string | string[] | undefined>;
  params?: Record<string, string>;
  query?: Record<string, unknown>;
  routeOptions?: { url?: string };
}

/**
 * Operational probes that read no audit data (polled by monitors and tests): not recorded. So is the progress of
 * re-reconciliation jobs (polled by `ledger reconcile`; each job's start and end are events of their own).
 */
const NOT_AUDIT_DATA = /^\/v1\/(?:.*\/)?status$|^\/v1\/reconciliation\/reruns(?:\/|$)/;

/**
 * Reads of audit data: every GET under `/v1/` (streams, replay, evidence, queries, integrity) but status probes.
 * `route` is the route pattern (`/v1/streams/:streamId`), so a stream named `status` is still recorded.
 */
const isAuditRead = (method: string | undefined, route: string): boolean =>
  method === 'GET' && route.startsWith('/v1/') && !NOT_AUDIT_DATA.test(route);

/** The query's parameters but a credential (`access_token`, accepted by event streams), which is never recorded. */
function withoutCredential(query: Record<string, unknown> | undefined): Record<string, unknown> {
  const { access_token: _credential, ...filters } = query ?? {};
  return filters;
}

interface HttpReplyLike {
  statusCode: number;
  raw: { writableFinished: boolean; once(event: 'close', listener: () => void): unknown };
}

/** The status an error will be answered with, for when the answer never went out (the reader hung up). */
const statusOf = (error: unknown): number =>
  error instanceof HttpException ? error.getStatus() : toErrorReply(error).status;

/**
 * Audit of the audit (design invariant 8): records each read of audit data as an `AuditDataAccessed` event once the
 * read has answered (or failed), without delaying or failing it. Registered globally (APP_INTERCEPTOR).
 */
@Injectable()
export class AuditAccessInterceptor implements NestInterceptor {
  constructor(private readonly recorder: AuditAccessRecorder) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<HttpRequestLike>();
    const reply = context.switchToHttp().getResponse<HttpReplyLike>();
    const path = request.routeOptions?.url ?? (request.url ?? '').split('?')[0]!;
    if (!isAuditRead(request.method, path)) return next.handle();
    // The guard authenticated the reader (reads of audit data are never public): it is the actor, not a header.
    const principal = principalOf(context);
    let recorded = false;
    const record = (status: number) => {
      if (recorded) return;
      recorded = true;
      this.recorder.record({
        actor: principal ? actorOf(principal) : 'anonymous',
        route: `GET ${path}`,
        params: { ...(request.params ?? {}) },
        filters: withoutCredential(request.query),
        status,
      });
    };
    return next.handle().pipe(
      tap({
        next: () => record(200),
        complete: () => record(200),
        // The answer's real status (a 404 stays a 404), once the exception filters have sent it.
        error: (error: unknown) =>
          reply.raw.once('close', () => record(reply.raw.writableFinished ? reply.statusCode : statusOf(error))),
      }),
    );
  }
}
