import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** The call being served: its request id follows the work into the events it appends (metadata.requestId). */
export interface RequestContext {
  requestId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Runs `work` as part of the call `context` (everything it awaits sees the same request id). */
export function runInRequest<T>(context: RequestContext, work: () => T): T {
  return storage.run(context, work);
}

/** The request id of the call being served, if any (undefined in workers: projections, reconciliation). */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/** A caller's `X-Request-Id` when it is a sane token (1-128 of [A-Za-z0-9._:-]); otherwise a fresh uuid. */
export function requestIdOf(offered: unknown): string {
  return typeof offered === 'string' && /^[\w.:-]{1,128}$/.test(offered) ? offered : randomUUID();
}
