import { randomUUID } from 'node:crypto';
import type { LogExecutionRequest } from '@audit-ledger/domain';

/** Streams the executions go to (one per approval). */
export const APPROVALS = 1000;

/** A typical execution record: a short command with a few hundred bytes of output. */
export function execution(approvalIndex: number, n: number): LogExecutionRequest {
  return {
    executionId: randomUUID(),
    approvalId: `bench-${approvalIndex % APPROVALS}`,
    workerId: `worker-${approvalIndex % 16}`,
    toolName: 'shell',
    command: `docker compose logs --tail ${n} api`,
    output: `api-1  | GET /health 200 ${n}ms\n`.repeat(8),
    exitCode: 0,
    startedAt: '2026-11-23T10:00:00.000Z',
    finishedAt: '2026-11-23T10:00:00.120Z',
    token: `token-${n}`,
  };
}
