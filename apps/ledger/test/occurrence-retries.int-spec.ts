import { IdempotencyConflictError, PostgresEventStore } from '@audit-ledger/event-store';
import { randomUUID } from 'node:crypto';
import { anExecutionLogged } from '../../../test/support/fixtures.js';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { EXECUTION_DERIVED_PATHS } from '../src/approvals/log-execution/execution-record.js';
import { appendExecution, DECISION_DERIVED_PATHS, handleStreamCommand } from '../src/shared/handle-stream-command.js';

const before = '2026-11-23T10:00:00.000Z';
const after = '2026-11-23T11:00:00.000Z';

/**
 * Commands recorded before they carried `occurredAt`, retried by a client that now sends one (a spooled command
 * drained after an upgrade): the same command, answered as a replay of what was recorded, not as a conflict.
 */
describe('retries of commands recorded before occurredAt existed', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.connect({ connectionString: db.url, poolSize: 2 });
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  const logExecution = (data: ReturnType<typeof anExecutionLogged>, now: string) =>
    appendExecution(store, {
      streamId: `approval-${data.approvalId!}`,
      command: { type: 'LogExecution', data, now },
      idempotencyKey: data.executionId,
      isOriginal: () => false,
      derivedPaths: EXECUTION_DERIVED_PATHS,
      actor: 'test',
      correlationId: data.approvalId!,
    });

  it('given an execution recorded without occurredAt, when it is retried with one, then it is a replay; with another command, still a conflict', async () => {
    const recorded = anExecutionLogged({ executionId: randomUUID(), approvalId: `A-${randomUUID()}` });
    const original = await logExecution(recorded, before);

    const retried = await logExecution({ ...recorded, occurredAt: after }, after);
    expect(retried).toEqual({ ...original, duplicate: true });

    const changed = logExecution({ ...recorded, command: 'rm -rf /', occurredAt: after }, after);
    await expect(changed).rejects.toBeInstanceOf(IdempotencyConflictError);
  });

  it('given a revocation recorded without occurredAt, when it is retried with one, then it is a replay', async () => {
    const approvalId = `A-${randomUUID()}`;
    const streamId = `approval-${approvalId}`;
    const options = {
      streamId,
      idempotencyKey: approvalId,
      derivedPaths: DECISION_DERIVED_PATHS,
      actor: 'test',
      correlationId: approvalId,
    };
    const grant = {
      approvalId,
      instruction: 'restart the api',
      approvedCommands: [],
      riskLevel: 'moderate' as const,
      decision: 'approved' as const,
      approvedBy: 'alice',
      requestedBy: {},
    };
    await handleStreamCommand(store, {
      ...options,
      command: { type: 'GrantApproval', data: grant, now: before },
      isOriginal: (event) => event.type === 'ApprovalGranted',
      decidedAtField: 'grantedAt',
    });
    const revoke = (data: { occurredAt?: string }, now: string) =>
      handleStreamCommand(store, {
        ...options,
        command: { type: 'RevokeApproval', data: { approvalId, by: 'bob', reason: 'done', ...data }, now },
        isOriginal: (event) => event.type === 'ApprovalRevoked',
        decidedAtField: 'revokedAt',
      });
    const original = await revoke({}, before);

    expect(await revoke({ occurredAt: after }, after)).toEqual({ ...original, duplicate: true });
  });
});
