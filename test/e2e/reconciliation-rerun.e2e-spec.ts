import { MESSAGE_PATTERNS, type CommandAck } from '@audit-ledger/domain';
import { PostgresEventStore } from '@audit-ledger/event-store';
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';
import { rerunJobUntil, rerunToEnd, type RerunJobView as JobView } from '../support/rerun-job.js';

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

  const rerun = (since: string) => rerunToEnd(t, since);

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
      body: { state: 'finished', examined: 0, total: 0, recorded: [] },
    });
    expect(await rerun('yesterday')).toMatchObject({
      status: 400,
      body: { error: { code: 'VALIDATION.FAILED', issues: [expect.objectContaining({ path: 'since' })] } },
    });
  });
});

describe('re-reconciliation jobs run in the background, rate-limited, one at a time, cancellable', () => {
  let t: LedgerUnderTest;
  const RATE = 4;
  const EXECUTIONS = 24;
  beforeAll(async () => {
    t = await startLedgerUnderTest({ reconciliationRerunEventsPerSecond: RATE });
    const approval = anApproval();
    await t.send(MESSAGE_PATTERNS.grantApproval, approval);
    for (let i = 0; i < EXECUTIONS; i++) {
      await t.send(MESSAGE_PATTERNS.logExecution, anExecution({ approvalId: approval.approvalId }));
    }
  });
  afterAll(() => t.stop());

  it('given many executions, when a re-run starts, then 202 answers before the work ends; progress advances by batches within the rate; a second start is refused; cancel stops it short; start and end are recorded as events', async () => {
    const started = await t.http('POST', '/v1/reconciliation/rerun', { since: '0' });
    expect(started.status).toBe(202);
    const job = started.body as JobView;
    expect(job).toMatchObject({ state: 'running', examined: 0, eventsPerSecond: RATE });

    const second = await t.http('POST', '/v1/reconciliation/rerun', { since: '0' });
    expect(second).toMatchObject({
      status: 409,
      body: { error: { code: 'RECONCILIATION.RERUN_RUNNING', runningJob: { id: job.id } } },
    });

    const progressing = await rerunJobUntil(t, job.id, (view) => view.examined > 0);
    expect(progressing).toMatchObject({ state: 'running', total: EXECUTIONS });
    // the rate limit: batches are never larger than the executions allowed per second
    expect(progressing.examined % RATE).toBe(0);
    expect((await t.http('GET', '/v1/reconciliation/reruns')).body).toMatchObject({
      jobs: [{ id: job.id, state: 'running' }],
    });

    expect((await t.http('DELETE', `/v1/reconciliation/reruns/${job.id}`)).status).toBe(202);
    const ended = await rerunJobUntil(t, job.id);
    expect(ended).toMatchObject({ state: 'cancelled', cancelRequested: true, total: EXECUTIONS });
    expect(ended.examined).toBeLessThan(EXECUTIONS);

    const recorded = await t.sql<{ type: string; data: Record<string, unknown> }>(
      `SELECT type, data FROM ledger.events WHERE stream_id = 'reconciliation-reruns' AND data->>'jobId' = $1
        ORDER BY global_position`,
      [job.id],
    );
    expect(recorded).toEqual([
      expect.objectContaining({ type: 'ReconciliationRerunStarted', data: expect.objectContaining({ since: '0' }) }),
      expect.objectContaining({
        type: 'ReconciliationRerunEnded',
        data: expect.objectContaining({ state: 'cancelled', examined: ended.examined, total: EXECUTIONS }),
      }),
    ]);
  });

  it('given a client that leaves right after asking, when the job runs, then it goes on to the end', async () => {
    const before = ((await t.http('GET', '/v1/reconciliation/reruns')).body as { jobs: JobView[] }).jobs.length;
    const body = JSON.stringify({ since: '0' });
    const socket = connect(t.ledger.httpPort, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.write(
        `POST /v1/reconciliation/rerun HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n` +
          `authorization: Bearer ${t.credentials.security}\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        () => resolve(),
      );
    });
    socket.destroy(); // gone before reading the answer

    const deadline = Date.now() + 30_000;
    let jobs: JobView[] = [];
    while (jobs.length <= before) {
      if (Date.now() > deadline) throw new Error('the job never started');
      jobs = ((await t.http('GET', '/v1/reconciliation/reruns')).body as { jobs: JobView[] }).jobs;
    }
    const ended = await rerunJobUntil(t, jobs[0]!.id);
    expect(ended).toMatchObject({ state: 'finished', examined: EXECUTIONS, total: EXECUTIONS });
  });

  it('given a running job, when the ledger stops, then the job is cancelled and its end recorded before the store closes (runs last)', async () => {
    const started = await t.http('POST', '/v1/reconciliation/rerun', { since: '0' });
    const { id } = started.body as JobView;
    await rerunJobUntil(t, id, (view) => view.examined > 0);

    await t.ledger.close();

    const [ended] = await t.sql<{ data: Record<string, unknown> }>(
      `SELECT data FROM ledger.events WHERE type = 'ReconciliationRerunEnded' AND data->>'jobId' = $1`,
      [id],
    );
    expect(ended?.data).toMatchObject({ state: 'cancelled', total: EXECUTIONS });
    expect(ended!.data.examined as number).toBeLessThan(EXECUTIONS);
  });
});
