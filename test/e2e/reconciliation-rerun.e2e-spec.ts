import { MESSAGE_PATTERNS, type CommandAck } from '@audit-ledger/domain';
import { PostgresEventStore } from '@audit-ledger/event-store';
import { randomUUID } from 'node:crypto';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';

interface RerunReport {
  reconcilerVersion: string;
  examined: number;
  recorded: { streamId: string; executionId: string; type: string; kind?: string }[];
}

describe('POST /v1/reconciliation/rerun (the server side of `ledger reconcile --since`)', () => {
  let t: LedgerUnderTest;
  beforeAll(async () => {
    t = await startLedgerUnderTest(); // processor off: the verdicts in the store are the ones this test writes
  });
  afterAll(() => t.stop());

  const rerun = (since: string) => t.http('POST', '/v1/reconciliation/rerun', { since });

  it('given verdicts of an older reconciler, when re-run, then only changed or missing verdicts are recorded; a second run records nothing', async () => {
    const a = anApproval();
    const b = anApproval();
    await t.send(MESSAGE_PATTERNS.grantApproval, a);
    await t.send(MESSAGE_PATTERNS.grantApproval, b);
    const first = await t.send<CommandAck>(
      MESSAGE_PATTERNS.logExecution,
      anExecution({ approvalId: a.approvalId, command: 'docker compose down' }),
    );
    const wrong = { executionId: randomUUID(), approvalId: a.approvalId, command: 'docker compose down' };
    const right = { executionId: randomUUID(), approvalId: b.approvalId, command: 'docker compose ps' };
    const session = { executionId: randomUUID(), sessionId: `S-${randomUUID()}`, command: 'rm -rf /var/lib/app' };
    for (const e of [wrong, right, session]) await t.send(MESSAGE_PATTERNS.logExecution, anExecution(e));

    // An older reconciler said MATCH for both approval executions.
    const store = await PostgresEventStore.connect({ connectionString: t.database.url, poolSize: 2 });
    try {
      for (const e of [wrong, right]) {
        await store.appendToStream(`approval-${e.approvalId}`, [
          {
            eventId: randomUUID(),
            type: 'ExecutionReconciled',
            data: {
              executionId: e.executionId,
              verdict: 'MATCH',
              explanation: 'old',
              reconcilerVersion: 'reconciler/0.9',
            },
            metadata: { actor: 'test', schemaVersion: 1 },
          },
        ]);
      }
    } finally {
      await store.close();
    }

    const since = String(BigInt(first.globalPosition)); // after the first execution: it is not examined
    const report = await rerun(since);
    expect(report.status).toBe(200);
    const body = report.body as RerunReport;
    expect(body.examined).toBe(3);
    expect(body.recorded).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          executionId: wrong.executionId,
          type: 'MismatchDetected',
          kind: 'command_not_approved',
        }),
        expect.objectContaining({
          executionId: session.executionId,
          type: 'MismatchDetected',
          kind: 'policy_violation',
        }),
      ]),
    );
    expect(body.recorded).toHaveLength(2);

    const again = (await rerun(since)).body as RerunReport;
    expect(again).toMatchObject({ examined: 3, recorded: [] });
    const fromStart = (await rerun('0')).body as RerunReport;
    expect(fromStart.recorded.map((r) => r.kind)).toEqual(['command_not_approved']); // only the first execution
  });

  it('accepts an ISO instant, and refuses anything else naming the field', async () => {
    expect(await rerun(new Date(Date.now() + 60_000).toISOString())).toMatchObject({
      status: 200,
      body: { examined: 0, recorded: [] },
    });
    expect(await rerun('yesterday')).toMatchObject({
      status: 400,
      body: { error: { code: 'VALIDATION.FAILED', issues: [expect.objectContaining({ path: 'since' })] } },
    });
  });
});
