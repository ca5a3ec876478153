import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import pino from 'pino';
import { defer, firstValueFrom, of } from 'rxjs';
import type { LedgerConfig } from '../config/ledger.config.js';
import { CallContextInterceptor } from './call-context.interceptor.js';
import { requestIdOfCall } from './request-context.js';

const interceptor = new CallContextInterceptor(pino({ enabled: false }), {
  transport: 'tcp',
  accessLog: false,
} as LedgerConfig);

function messageCall(): ExecutionContextHost {
  const context = new ExecutionContextHost([{ executionId: 'e-1' }, { pattern: 'executions.log' }]);
  context.setType('rpc');
  return context;
}

/** What the handler sees as its call's request id when the interceptor runs it. */
function seenByHandler(context: ExecutionContextHost): Promise<string | undefined> {
  return firstValueFrom(
    interceptor.intercept(context, { handle: () => defer(() => of(requestIdOfCall(context))) }) as never,
  );
}

describe('CallContextInterceptor', () => {
  it('gives each message a request id of its own that its handler reads from its call (no async context)', async () => {
    const first = messageCall();
    const second = messageCall();
    const [a, b] = await Promise.all([seenByHandler(first), seenByHandler(second)]);
    expect(a).toMatch(/^[0-9a-f-]{36}$/);
    expect(b).toMatch(/^[0-9a-f-]{36}$/);
    expect(a).not.toBe(b);
    expect(requestIdOfCall(first)).toBe(a);
  });

  it("records an HTTP call's request id (Fastify's, from X-Request-Id) for its handler", async () => {
    const context = new ExecutionContextHost([{ id: 'req-ops-42' }, {}]);
    context.setType('http');
    await expect(seenByHandler(context)).resolves.toBe('req-ops-42');
  });

  it('knows no request id for a call it did not serve', () => {
    expect(requestIdOfCall(messageCall())).toBeUndefined();
  });
});
