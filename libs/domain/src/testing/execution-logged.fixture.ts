import type { ExecutionLoggedData } from '../approvals/approval.events.js';

/**
 * An `ExecutionLogged` event's data as the ledger records it (output capped and hashed), for decider and fold tests.
 * Test data only: `*.fixture.ts` is left out of the build (libs/domain/tsconfig.json).
 */
export function anExecutionLogged(overrides: Partial<ExecutionLoggedData> = {}): ExecutionLoggedData {
  return {
    executionId: 'E1',
    approvalId: 'A1',
    workerId: 'w1',
    toolName: 'shell',
    command: 'docker compose ps',
    output: { text: '', truncated: false, sha256: 'e'.repeat(64), bytes: 0 },
    exitCode: 0,
    artifacts: [],
    startedAt: '2026-11-23T10:05:00.000Z',
    finishedAt: '2026-11-23T10:05:00.000Z',
    durationMs: 0,
    ...overrides,
  };
}
