import { randomUUID } from 'node:crypto';
import type { GrantApprovalRequest, LogExecutionRequest } from '@audit-ledger/domain';

export function anApproval(overrides: Partial<GrantApprovalRequest> = {}): GrantApprovalRequest {
  return {
    approvalId: `A-${randomUUID()}`,
    instruction: 'list the running containers',
    approvedCommands: ['docker compose ps'],
    riskLevel: 'safe',
    approvedBy: 'alice@example.com',
    requestedBy: { workerId: 'w1', agentId: 'agent-7' },
    ...overrides,
  };
}

export function anExecution(overrides: Partial<LogExecutionRequest> = {}): LogExecutionRequest {
  return {
    executionId: randomUUID(),
    workerId: 'w1',
    toolName: 'shell',
    command: 'docker compose ps',
    output: 'NAME   STATUS\napi    running\n',
    exitCode: 0,
    startedAt: '2026-11-23T10:00:00.000Z',
    finishedAt: '2026-11-23T10:00:01.250Z',
    ...overrides,
  };
}

export { anExecutionLogged } from '../../libs/domain/src/testing/execution-logged.fixture.js';
