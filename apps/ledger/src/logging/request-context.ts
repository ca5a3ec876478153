import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { randomUUID } from 'node:crypto';

/**
 * The request id of each call being served, kept beside the request (HTTP) or the message's transport context (TCP,
 * NATS), both of which live exactly as long as the call, as the principal is (identity/access.ts). Handlers take it
 * as a parameter ({@link CurrentRequestId}) and hand it to the command path, which writes it into the events'
 * metadata (`requestId`).
 *
 * Not an AsyncLocalStorage: on Node 20 one `run` turns on promise hooks for the whole process, so every promise of
 * every call (Nest, rxjs, pg) paid a hook and a context copy: about 3 % of the ledger's own time at one client in
 * `bench:command-path`, plus the garbage (issue 14; docs/benchmarks.md).
 */
const requestIds = new WeakMap<object, string>();

function callKey(context: ExecutionContext): object | undefined {
  const key: unknown =
    context.getType() === 'http' ? context.switchToHttp().getRequest() : context.switchToRpc().getContext();
  return typeof key === 'object' && key !== null ? key : undefined;
}

/** Records `requestId` as the id of the call `context` serves. */
export function attachRequestId(context: ExecutionContext, requestId: string): void {
  const key = callKey(context);
  if (key) requestIds.set(key, requestId);
}

/** The request id recorded for the call `context` serves, if any. */
export function requestIdOfCall(context: ExecutionContext): string | undefined {
  const key = callKey(context);
  return key ? requestIds.get(key) : undefined;
}

/** Handler parameter: the request id of the call (undefined when none was recorded). */
export const CurrentRequestId = createParamDecorator((_data: unknown, context: ExecutionContext): string | undefined =>
  requestIdOfCall(context),
);

/** A caller's `X-Request-Id` when it is a sane token (1-128 of [A-Za-z0-9._:-]); otherwise a fresh uuid. */
export function requestIdOf(offered: unknown): string {
  return typeof offered === 'string' && /^[\w.:-]{1,128}$/.test(offered) ? offered : randomUUID();
}
