import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { tap, type Observable } from 'rxjs';
import { toErrorReply } from '../shared/error-body.js';
import { ACTOR_HEADER, AuditAccessRecorder } from './audit-access.recorder.js';

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
export const isAuditRead = (method: string | undefined, route: string): boolean =>
  method === 'GET' && route.startsWith('/v1/') && !NOT_AUDIT_DATA.test(route);

const actorOf = (headers: HttpRequestLike['headers']): string => {
  const value = headers?.[ACTOR_HEADER];
  const actor = (Array.isArray(value) ? value[0] : value)?.trim();
  return actor ? actor.slice(0, 200) : 'anonymous';
};

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
    const path = request.routeOptions?.url ?? (request.url ?? '').split('?')[0]!;
    if (!isAuditRead(request.method, path)) return next.handle();
    let recorded = false;
    const record = (status: number) => {
      if (recorded) return;
      recorded = true;
      this.recorder.record({
        actor: actorOf(request.headers),
        route: `GET ${path}`,
        params: { ...(request.params ?? {}) },
        filters: { ...(request.query ?? {}) },
        status,
      });
    };
    return next.handle().pipe(
      tap({
        next: () => record(200),
        complete: () => record(200),
        error: (error: unknown) => record(toErrorReply(error).status),
      }),
    );
  }
}
