import { randomUUID } from 'node:crypto';
import type { LogExecutionRequest } from '@audit-ledger/domain';

/** Streams the executions go to (one per approval). */
export const APPROVALS = 1000;

/** The command each bench approval approves, and each bench execution runs (a typical execution matches its approval). */
export const BENCH_APPROVED_COMMAND = 'docker compose logs api';

/**
 * A typical execution record: the approved command with a few hundred bytes of output, and a token of its own (an
 * approval's token is single-use: a token presented twice is a `token_replay` mismatch, so `n` repeating across runs
 * must not repeat the token).
 */
export function execution(approvalIndex: number, n: number): LogExecutionRequest {
  return {
    executionId: randomUUID(),
    approvalId: `bench-${approvalIndex % APPROVALS}`,
    workerId: `worker-${approvalIndex % 16}`,
    toolName: 'shell',
    command: BENCH_APPROVED_COMMAND,
    output: `api-1  | GET /health 200 ${n}ms\n`.repeat(8),
    exitCode: 0,
    startedAt: '2026-11-23T10:00:00.000Z',
    finishedAt: '2026-11-23T10:00:00.120Z',
    token: `token-${n}-${randomUUID()}`,
  };
}
