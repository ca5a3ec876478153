import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Observable } from 'rxjs';
import { failed, SpanKind, startSpan, withSpan } from './spans.js';

interface HttpRequestLike {
  method?: string;
  url?: string;
  routeOptions?: { url?: string };
}

/**
 * The root span of every call, per entrance: `HTTP POST /v1/executions`, `tcp approvals.grant`, `nats
 * executions.log`. The handler runs inside it, so the command's and the append's spans are its children. No-op
 * (the API's) unless tracing is configured.
 */
@Injectable()
export class TracingInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const span = context.getType() === 'http' ? httpSpan(context) : rpcSpan(context);
    return new Observable((subscriber) => {
      const subscription = withSpan(span, () =>
        next.handle().subscribe({
          next: (value) => subscriber.next(value),
          error: (error: unknown) => {
            failed(span, error);
            span.end();
            subscriber.error(error);
          },
          complete: () => {
            span.end();
            subscriber.complete();
          },
        }),
      );
      return () => subscription.unsubscribe();
    });
  }
}

function httpSpan(context: ExecutionContext) {
  const request = context.switchToHttp().getRequest<HttpRequestLike>();
  const route = request.routeOptions?.url ?? (request.url ?? '').split('?')[0]!;
  return startSpan(
    `HTTP ${request.method ?? ''} ${route}`,
    { 'http.request.method': request.method ?? '', 'http.route': route, 'ledger.transport': 'http' },
    SpanKind.SERVER,
  );
}

function rpcSpan(context: ExecutionContext) {
  const rpc = context.switchToRpc();
  const transport = transportOf(rpc.getContext());
  const pattern = patternOf(rpc.getContext());
  return startSpan(
    `${transport} ${pattern}`,
    { 'rpc.system': transport, 'rpc.method': pattern, 'ledger.transport': transport },
    SpanKind.SERVER,
  );
}

function transportOf(rpcContext: unknown): string {
  const name = (rpcContext as { constructor?: { name?: string } } | undefined)?.constructor?.name ?? '';
  if (name.startsWith('Nats')) return 'nats';
  if (name.startsWith('Tcp')) return 'tcp';
  return 'rpc';
}

function patternOf(rpcContext: unknown): string {
  const ctx = rpcContext as { getPattern?: () => string; getSubject?: () => string } | undefined;
  if (typeof ctx?.getPattern === 'function') return ctx.getPattern();
  if (typeof ctx?.getSubject === 'function') return ctx.getSubject();
  return 'message';
}
