import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { approvalStreamId, sessionStreamId } from '@audit-ledger/domain';
import { type NewEvent, PostgresEventStore } from '@audit-ledger/event-store';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { ProjectionRunner, projectionsWithReconciliation, ReadModelQueries } from '../src/index.js';
import { append, caughtUp, execution, grant, rawClient, revoke } from './read-model-test-support.js';

function verdictEvent(type: string, data: Record<string, unknown>, eventId: string = randomUUID()): NewEvent {
  return {
    eventId,
    type,
    data,
    metadata: {
      correlationId: randomUUID(),
      causationId: randomUUID(),
      recordedAt: new Date().toISOString(),
      actor: 'process:reconciliation',
      schemaVersion: 1,
    },
  };
}

const matched = (executionId: string, reconcilerVersion = 'r1'): NewEvent =>
  verdictEvent('ExecutionReconciled', { executionId, verdict: 'MATCH', explanation: 'equal', reconcilerVersion });

const unclear = (executionId: string): NewEvent =>
  verdictEvent('ReconciliationUnclear', {
    executionId,
    kind: 'low_confidence',
    reason: 'too few shared tokens',
    needsHumanReview: true,
    reconcilerVersion: 'r1',
  });

function mismatch(
  fields: { approvalId?: string; sessionId?: string; executionId?: string; kind: string },
  reconcilerVersion = 'r1',
): { event: NewEvent; mismatchId: string } {
  const mismatchId = randomUUID();
  const event = verdictEvent(
    'MismatchDetected',
    {
      mismatchId,
      ...fields,
      severity: fields.kind === 'approval_unused' ? 'low' : 'high',
      explanation: `explained ${fields.kind}`,
      approved: { instruction: 'list the running containers', commands: ['docker compose ps'] },
      ...(fields.executionId ? { executed: { command: 'docker compose down' } } : {}),
      riskRules: [],
      reconcilerVersion,
    },
    mismatchId,
  );
  return { event, mismatchId };
}

const reviewed = (mismatchId: string, resolution: 'confirmed' | 'false_positive'): NewEvent =>
  verdictEvent('MismatchReviewed', {
    mismatchId,
    reviewer: 'sec@example.com',
    resolution,
    note: 'looked at it',
    reviewedAt: '2026-03-02T09:00:00.000Z',
  });

/**
 * Real events through PostgresEventStore, all three default projections running:
 *   A1 ps → ExecutionReconciled                          → matched
 *   A2 down → MismatchDetected, reviewed (twice)          → mismatch, 1, review recorded once
 *   A3 ps → ReconciliationUnclear                        → unclear
 *   A4 no execution → MismatchDetected approval_unused   → unused, 1
 *   A5 down → MismatchDetected r1, then MATCH by r2      → matched, 0 (the mismatch is superseded)
 *   A6 revoked before its mismatch                       → revoked (a verdict never overwrites it), 1
 *   S1 session execution → MismatchDetected policy_violation
 */
describe('reconciliation read model', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let sql: pg.Client;
  let runner: ProjectionRunner | undefined;
  let last = 0n;
  const id = (name: string): string => `${name}-${randomUUID()}`;
  const A = { A1: id('A1'), A2: id('A2'), A3: id('A3'), A4: id('A4'), A5: id('A5'), A6: id('A6') };
  const E = { E1: randomUUID(), E2: randomUUID(), E3: randomUUID(), E5: randomUUID(), E6: randomUUID() };
  const S1 = { session: id('S1'), execution: randomUUID() };
  const mismatchIds: Record<string, string> = {};

  const start = async (): Promise<void> => {
    runner = await ProjectionRunner.start({
      store,
      connectionString: db.url,
      projections: projectionsWithReconciliation(),
    });
    await caughtUp(runner, last).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}: ${JSON.stringify(runner?.status(), null, 1)}`);
    });
  };
  const stop = async (): Promise<void> => {
    await runner?.stop();
    runner = undefined;
  };
  const toStream = async (streamId: string, event: NewEvent): Promise<void> => {
    last = (await store.appendToStream(streamId, [event])).lastPosition;
  };

  async function snapshot(): Promise<unknown> {
    const approvals = await sql.query(
      `SELECT approval_id, status, mismatch_count, execution_count FROM read_models.approvals ORDER BY approval_id`,
    );
    const executions = await sql.query(
      `SELECT execution_id, reconciliation_verdict, reconciled_at FROM read_models.executions ORDER BY execution_id`,
    );
    const mismatches = await sql.query(
      `SELECT mismatch_id, approval_id, execution_id, stream_id, kind, severity, review_state, resolution, reviewer,
              superseded, reconciler_version FROM read_models.mismatches ORDER BY mismatch_id`,
    );
    return { approvals: approvals.rows, executions: executions.rows, mismatches: mismatches.rows };
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.connect({ connectionString: db.url, pollIntervalMs: 50 });
    sql = await rawClient(db.url);
    for (const approvalId of Object.values(A)) {
      last = await append(store, grant({ approvalId, expiresAt: '2026-03-01T12:00:00.000Z' }));
    }
    // Session events first: the approvals projection reads only approval streams, and the test waits on `last`.
    last = await append(store, execution({ executionId: S1.execution, sessionId: S1.session, command: 'rm -rf /x' }));
    await toStream(
      sessionStreamId(S1.session),
      mismatch({ sessionId: S1.session, executionId: S1.execution, kind: 'policy_violation' }).event,
    );
    last = await append(store, execution({ executionId: E.E1, approvalId: A.A1 }));
    await toStream(approvalStreamId(A.A1), matched(E.E1));

    last = await append(store, execution({ executionId: E.E2, approvalId: A.A2, command: 'docker compose down' }));
    const m2 = mismatch({ approvalId: A.A2, executionId: E.E2, kind: 'command_not_approved' });
    mismatchIds.A2 = m2.mismatchId;
    await toStream(approvalStreamId(A.A2), m2.event);
    await toStream(approvalStreamId(A.A2), reviewed(m2.mismatchId, 'confirmed'));
    // A second, different review never reaches the store through the API; the first one recorded wins anyway.
    await toStream(approvalStreamId(A.A2), reviewed(m2.mismatchId, 'false_positive'));

    last = await append(store, execution({ executionId: E.E3, approvalId: A.A3 }));
    await toStream(approvalStreamId(A.A3), unclear(E.E3));

    const m4 = mismatch({ approvalId: A.A4, kind: 'approval_unused' });
    mismatchIds.A4 = m4.mismatchId;
    await toStream(approvalStreamId(A.A4), m4.event);

    last = await append(store, execution({ executionId: E.E5, approvalId: A.A5, command: 'docker compose down' }));
    const m5 = mismatch({ approvalId: A.A5, executionId: E.E5, kind: 'command_not_approved' });
    mismatchIds.A5 = m5.mismatchId;
    await toStream(approvalStreamId(A.A5), m5.event);
    await toStream(approvalStreamId(A.A5), matched(E.E5, 'r2'));

    last = await append(store, revoke({ approvalId: A.A6, revokedAt: '2026-03-01T09:30:00.000Z' }));
    last = await append(store, execution({ executionId: E.E6, approvalId: A.A6 }));
    await toStream(
      approvalStreamId(A.A6),
      mismatch({ approvalId: A.A6, executionId: E.E6, kind: 'approval_revoked' }).event,
    );

    await start();
  });

  afterAll(async () => {
    await stop();
    await sql?.end();
    await store?.close();
    await db?.drop();
  });

  it('sets the approval status and mismatch count from the verdicts', async () => {
    const { rows } = await sql.query<{ approval_id: string; status: string; mismatch_count: number }>(
      `SELECT approval_id, status, mismatch_count FROM read_models.approvals WHERE approval_id = ANY($1)`,
      [Object.values(A)],
    );
    const byId = Object.fromEntries(rows.map((r) => [r.approval_id, [r.status, r.mismatch_count]]));
    expect(byId).toEqual({
      [A.A1]: ['matched', 0],
      [A.A2]: ['mismatch', 1],
      [A.A3]: ['unclear', 0],
      [A.A4]: ['unused', 1],
      [A.A5]: ['matched', 0],
      [A.A6]: ['revoked', 1],
    });
  });

  it("sets each execution's verdict, the latest one winning", async () => {
    const { rows } = await sql.query<{ execution_id: string; reconciliation_verdict: string | null }>(
      `SELECT execution_id, reconciliation_verdict, reconciled_at FROM read_models.executions`,
    );
    const byId = Object.fromEntries(rows.map((r) => [r.execution_id, r.reconciliation_verdict]));
    expect(byId).toEqual({
      [E.E1]: 'matched',
      [E.E2]: 'mismatch',
      [E.E3]: 'unclear',
      [E.E5]: 'matched',
      [E.E6]: 'mismatch',
      [S1.execution]: 'mismatch',
    });
    expect(rows.every((r) => r.reconciliation_verdict !== null)).toBe(true);
  });

  it('lists mismatches with their review state', async () => {
    const { rows } = await sql.query(
      `SELECT mismatch_id, approval_id, stream_id, kind, severity, review_state, reviewer, resolution, superseded,
              executed FROM read_models.mismatches WHERE mismatch_id = ANY($1) ORDER BY approval_id`,
      [[mismatchIds.A2, mismatchIds.A4, mismatchIds.A5]],
    );
    expect(rows).toEqual([
      {
        mismatch_id: mismatchIds.A2,
        approval_id: A.A2,
        stream_id: approvalStreamId(A.A2),
        kind: 'command_not_approved',
        severity: 'high',
        review_state: 'reviewed',
        reviewer: 'sec@example.com',
        resolution: 'confirmed',
        superseded: false,
        executed: { command: 'docker compose down' },
      },
      expect.objectContaining({ mismatch_id: mismatchIds.A4, kind: 'approval_unused', review_state: 'open' }),
      expect.objectContaining({ mismatch_id: mismatchIds.A5, superseded: true }),
    ]);
    const session = await sql.query(`SELECT approval_id, kind FROM read_models.mismatches WHERE stream_id = $1`, [
      sessionStreamId(S1.session),
    ]);
    expect(session.rows).toEqual([{ approval_id: null, kind: 'policy_violation' }]);
  });

  it('replaying the reconciliation projection from 0 changes nothing', async () => {
    const before = await snapshot();
    await stop();
    await sql.query(`UPDATE read_models.projection_checkpoints SET position = 0 WHERE name = 'reconciliation'`);
    await start();
    expect(await snapshot()).toEqual(before);
  });

  it('gives the same rows when approvals and executions are projected after the verdicts', async () => {
    const before = await snapshot();
    await stop();
    await sql.query(
      `TRUNCATE read_models.approvals, read_models.executions, read_models.executions_approval_lookup,
                read_models.daily_summaries, read_models.session_summaries, read_models.executions_mismatch_lookup`,
    );
    await sql.query(
      `UPDATE read_models.projection_checkpoints SET position = 0 WHERE name IN ('approvals', 'executions')`,
    );
    await start();
    expect(await snapshot()).toEqual(before);
  });

  it('keeps every kind of a verdict and the assessed risk; filtering by kind finds any of them; an older event reads as [kind]', async () => {
    const approvalId = id('A7');
    const executionId = randomUUID();
    await append(store, grant({ approvalId }));
    await append(store, execution({ executionId, approvalId, command: 'pip install nunpy' }));
    const { event, mismatchId } = mismatch({ approvalId, executionId, kind: 'dangerous_deviation' });
    const data = event.data as Record<string, unknown>;
    const withKinds = {
      ...event,
      data: { ...data, kinds: ['dangerous_deviation', 'typosquat'], assessedRisk: 'moderate' },
    };
    last = (await store.appendToStream(approvalStreamId(approvalId), [withKinds])).lastPosition;
    await caughtUp(runner!, last);
    const { rows } = await sql.query(
      `SELECT mismatch_id, kinds, assessed_risk FROM read_models.mismatches WHERE mismatch_id = ANY($1) ORDER BY kind`,
      [[mismatchId, mismatchIds.A2]],
    );
    expect(rows).toEqual([
      // the older event: one kind, the executed command assessed by the current model
      { mismatch_id: mismatchIds.A2, kinds: ['command_not_approved'], assessed_risk: 'destructive' },
      { mismatch_id: mismatchId, kinds: ['dangerous_deviation', 'typosquat'], assessed_risk: 'moderate' },
    ]);
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    try {
      const queries = new ReadModelQueries(pool);
      const found = await queries.listMismatches({ kind: 'typosquat', limit: 10 });
      expect(found.items.map((m) => [m.mismatchId, m.kind, m.kinds, m.assessedRisk])).toEqual([
        [mismatchId, 'dangerous_deviation', ['dangerous_deviation', 'typosquat'], 'moderate'],
      ]);
    } finally {
      await pool.end();
    }
  });
});
