import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { PostgresEventStore } from '@audit-ledger/event-store';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { defaultProjections, ProjectionRunner } from '../src/index.js';
import {
  append,
  caughtUp,
  custom,
  execution,
  grant,
  rawClient,
  reject,
  revoke,
  sha,
} from './read-model-test-support.js';

/**
 * The fixture (all times UTC), hand-computed below:
 *   A1 safe/approved by w1 for session s1, granted 03-01 09:00, expires 03-01 12:00
 *     E1 w1 shell exit 0, 100 ms, 03-01 10:00, session s1
 *     E2 w1 shell exit 1, 250 ms, 03-01 10:05, session s1
 *   A2 destructive/auto by w2 for session s2, granted 03-01 23:00, no expiry
 *     E3 w2 kubectl exit 0, 1000 ms, 03-02 00:10 (session from the approval)
 *     revoked 03-02 01:00
 *     E6 w2 kubectl exit 0, 10 ms, 03-02 02:00 (after the revocation)
 *   A3 rejected 03-02 08:00 without a grant
 *   A4 moderate/approved by w1 for session s1, granted 03-01 08:00, expires 03-01 08:30
 *     E4 w1 shell exit 0, 50 ms, 03-01 09:00 (after expiry)
 *   E5 session s1 without approval, w1 shell, exit null, 20 ms, 03-01 11:00
 *   a `FutureThing` event in A1's stream (unknown type: skipped and counted)
 */
describe('read models', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let runner: ProjectionRunner;
  let sql: pg.Client;
  const ids = {
    A1: `A1-${randomUUID()}`,
    A2: `A2-${randomUUID()}`,
    A3: `A3-${randomUUID()}`,
    A4: `A4-${randomUUID()}`,
  };
  const exec = {
    E1: randomUUID(),
    E2: randomUUID(),
    E3: randomUUID(),
    E4: randomUUID(),
    E5: randomUUID(),
    E6: randomUUID(),
  };
  const positions: Record<string, bigint> = {};

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.connect({ connectionString: db.url, pollIntervalMs: 100 });
    sql = await rawClient(db.url);
    const { A1, A2, A3, A4 } = ids;
    positions.A1 = await append(
      store,
      grant({
        approvalId: A1,
        instruction: 'show the containers',
        approvedCommands: ['ls', 'ls -la'],
        riskLevel: 'safe',
        decision: 'approved',
        requestedBy: { workerId: 'w1', sessionId: 's1', agentId: 'agent-7' },
        grantedAt: '2026-03-01T09:00:00Z',
        expiresAt: '2026-03-01T12:00:00Z',
        maxExecutions: 5,
      }),
    );
    positions.E1 = await append(
      store,
      execution({
        executionId: exec.E1,
        approvalId: A1,
        sessionId: 's1',
        workerId: 'w1',
        toolName: 'shell',
        command: 'ls',
        output: { text: 'a\nb\n', truncated: true, sha256: sha('a\nb\nc\n'), bytes: 6 },
        exitCode: 0,
        artifacts: [{ path: '/tmp/x', sha256: sha('x'), bytes: 1 }],
        startedAt: '2026-03-01T10:00:00Z',
        finishedAt: '2026-03-01T10:00:00.100Z',
        durationMs: 100,
        tokenHash: sha('token'),
      }),
    );
    positions.E2 = await append(
      store,
      execution({
        executionId: exec.E2,
        approvalId: A1,
        sessionId: 's1',
        command: 'ls -la',
        exitCode: 1,
        startedAt: '2026-03-01T10:05:00Z',
        finishedAt: '2026-03-01T10:05:00.250Z',
        durationMs: 250,
      }),
    );
    await append(
      store,
      grant({
        approvalId: A2,
        instruction: 'restart the api',
        approvedCommands: [],
        riskLevel: 'destructive',
        decision: 'auto',
        requestedBy: { workerId: 'w2', sessionId: 's2' },
        grantedAt: '2026-03-01T23:00:00Z',
      }),
    );
    await append(
      store,
      execution({
        executionId: exec.E3,
        approvalId: A2,
        workerId: 'w2',
        toolName: 'kubectl',
        command: 'kubectl rollout restart deploy/api',
        startedAt: '2026-03-02T00:10:00Z',
        finishedAt: '2026-03-02T00:10:01Z',
        durationMs: 1000,
      }),
    );
    await append(store, revoke({ approvalId: A2, revokedAt: '2026-03-02T01:00:00Z' }));
    await append(
      store,
      execution({
        executionId: exec.E6,
        approvalId: A2,
        workerId: 'w2',
        toolName: 'kubectl',
        command: 'kubectl get pods',
        startedAt: '2026-03-02T02:00:00Z',
        finishedAt: '2026-03-02T02:00:00.010Z',
        durationMs: 10,
      }),
    );
    await append(
      store,
      reject({
        approvalId: A3,
        instruction: 'drop the database',
        by: 'bob',
        reason: 'no',
        rejectedAt: '2026-03-02T08:00:00Z',
      }),
    );
    await append(
      store,
      grant({
        approvalId: A4,
        riskLevel: 'moderate',
        requestedBy: { workerId: 'w1', sessionId: 's1' },
        grantedAt: '2026-03-01T08:00:00Z',
        expiresAt: '2026-03-01T08:30:00Z',
      }),
    );
    await append(
      store,
      execution({
        executionId: exec.E4,
        approvalId: A4,
        startedAt: '2026-03-01T09:00:00Z',
        finishedAt: '2026-03-01T09:00:00.050Z',
        durationMs: 50,
      }),
    );
    await append(
      store,
      execution({
        executionId: exec.E5,
        sessionId: 's1',
        command: 'whoami',
        exitCode: null,
        startedAt: '2026-03-01T11:00:00Z',
        finishedAt: '2026-03-01T11:00:00.020Z',
        durationMs: 20,
      }),
    );
    positions.last = await append(store, custom('FutureThing', { approvalId: A1 }), `approval-${A1}`);
    runner = await ProjectionRunner.start({
      store,
      connectionString: db.url,
      projections: defaultProjections(),
      lockRetryMs: 100,
    });
    await caughtUp(runner, positions.last);
  });

  afterAll(async () => {
    await runner?.stop();
    await sql?.end();
    await store?.close();
    await db?.drop();
  });

  it('projects approvals with their status, counts and last execution', async () => {
    const { rows } = await sql.query(
      `SELECT approval_id, status, decision, risk_level, execution_count, mismatch_count,
              to_char(last_execution_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI') AS last_execution_at
         FROM read_models.approvals ORDER BY approval_id`,
    );
    expect(rows).toEqual([
      {
        approval_id: ids.A1,
        status: 'pending',
        decision: 'approved',
        risk_level: 'safe',
        execution_count: 2,
        mismatch_count: 0,
        last_execution_at: '2026-03-01T10:05',
      },
      {
        approval_id: ids.A2,
        status: 'revoked',
        decision: 'auto',
        risk_level: 'destructive',
        execution_count: 2,
        mismatch_count: 0,
        last_execution_at: '2026-03-02T02:00',
      },
      {
        approval_id: ids.A3,
        status: 'rejected',
        decision: 'rejected',
        risk_level: null,
        execution_count: 0,
        mismatch_count: 0,
        last_execution_at: null,
      },
      {
        approval_id: ids.A4,
        status: 'expired',
        decision: 'approved',
        risk_level: 'moderate',
        execution_count: 1,
        mismatch_count: 0,
        last_execution_at: '2026-03-01T09:00',
      },
    ]);
    const { rows: a1 } = await sql.query(`SELECT * FROM read_models.approvals WHERE approval_id = $1`, [ids.A1]);
    expect(a1[0]).toMatchObject({
      stream_id: `approval-${ids.A1}`,
      instruction: 'show the containers',
      approved_commands: ['ls', 'ls -la'],
      approved_by: 'alice@example.com',
      requested_by_agent: 'agent-7',
      requested_by_worker: 'w1',
      requested_by_session: 's1',
      max_executions: 5,
      granted_at: new Date('2026-03-01T09:00:00Z'),
      expires_at: new Date('2026-03-01T12:00:00Z'),
      created_at: new Date('2026-03-01T09:00:00Z'),
      first_execution_at: new Date('2026-03-01T10:00:00Z'),
    });
    const { rows: a3 } = await sql.query(`SELECT * FROM read_models.approvals WHERE approval_id = $1`, [ids.A3]);
    expect(a3[0]).toMatchObject({ instruction: 'drop the database', rejected_by: 'bob', rejection_reason: 'no' });
  });

  it('projects every queryable field of an execution, without the output text', async () => {
    const { rows } = await sql.query(`SELECT * FROM read_models.executions WHERE execution_id = $1`, [exec.E1]);
    expect(rows).toEqual([
      {
        execution_id: exec.E1,
        approval_id: ids.A1,
        session_id: 's1',
        worker_id: 'w1',
        tool_name: 'shell',
        command: 'ls',
        assessed_risk: 'safe',
        exit_code: 0,
        started_at: new Date('2026-03-01T10:00:00Z'),
        finished_at: new Date('2026-03-01T10:00:00.100Z'),
        duration_ms: '100',
        token_hash: sha('token'),
        output_sha256: sha('a\nb\nc\n'),
        output_bytes: '6',
        output_truncated: true,
        artifacts: [{ path: '/tmp/x', sha256: sha('x'), bytes: 1 }],
        risk_level: 'safe',
        event_id: expect.any(String),
        stream_id: `approval-${ids.A1}`,
        stream_revision: 1,
        global_position: positions.E1!.toString(),
        recorded_at: expect.any(Date),
        reconciliation_verdict: null,
        reconciled_at: null,
      },
    ]);
    const { rows: all } = await sql.query(
      `SELECT execution_id, risk_level, exit_code FROM read_models.executions ORDER BY global_position`,
    );
    expect(all).toEqual([
      { execution_id: exec.E1, risk_level: 'safe', exit_code: 0 },
      { execution_id: exec.E2, risk_level: 'safe', exit_code: 1 },
      { execution_id: exec.E3, risk_level: 'destructive', exit_code: 0 },
      { execution_id: exec.E6, risk_level: 'destructive', exit_code: 0 },
      { execution_id: exec.E4, risk_level: 'moderate', exit_code: 0 },
      { execution_id: exec.E5, risk_level: 'none', exit_code: null },
    ]);
  });

  it('sums the daily summaries as computed by hand', async () => {
    const { rows } = await sql.query(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, worker_id, risk_level, tool_name, executions, successes, failures,
              total_duration_ms::int AS ms, approvals_approved AS ok, approvals_auto AS auto,
              approvals_rejected AS rej, approvals_revoked AS rev
         FROM read_models.daily_summaries ORDER BY day, worker_id, risk_level, tool_name`,
    );
    const row = (day: string, worker: string, risk: string, tool: string, e: number[], a: number[]) => ({
      day,
      worker_id: worker,
      risk_level: risk,
      tool_name: tool,
      executions: e[0],
      successes: e[1],
      failures: e[2],
      ms: e[3],
      ok: a[0],
      auto: a[1],
      rej: a[2],
      rev: a[3],
    });
    expect(rows).toEqual([
      // approvals count under their declared risk, executions under the assessed risk of their command
      row('2026-03-01', 'w1', 'moderate', '', [0, 0, 0, 0], [1, 0, 0, 0]),
      row('2026-03-01', 'w1', 'safe', '', [0, 0, 0, 0], [1, 0, 0, 0]),
      row('2026-03-01', 'w1', 'safe', 'shell', [4, 2, 2, 420], [0, 0, 0, 0]),
      row('2026-03-01', 'w2', 'destructive', '', [0, 0, 0, 0], [0, 1, 0, 0]),
      row('2026-03-02', '', 'unknown', '', [0, 0, 0, 0], [0, 0, 1, 0]),
      row('2026-03-02', 'w2', 'destructive', '', [0, 0, 0, 0], [0, 0, 0, 1]),
      row('2026-03-02', 'w2', 'moderate', 'kubectl', [1, 1, 0, 1000], [0, 0, 0, 0]),
      row('2026-03-02', 'w2', 'safe', 'kubectl', [1, 1, 0, 10], [0, 0, 0, 0]),
    ]);
  });

  it('sums the per-session summaries as computed by hand', async () => {
    const { rows } = await sql.query(
      `SELECT session_id, total_actions, risk_safe, risk_moderate, risk_destructive, risk_critical, risk_none,
              approved, rejected, successful, failed, total_duration_ms::int AS ms
         FROM read_models.session_summaries ORDER BY session_id`,
    );
    expect(rows).toEqual([
      {
        session_id: 's1',
        total_actions: 4,
        risk_safe: 4,
        risk_moderate: 0,
        risk_destructive: 0,
        risk_critical: 0,
        risk_none: 0,
        approved: 3,
        rejected: 0,
        successful: 2,
        failed: 2,
        ms: 420,
      },
      {
        session_id: 's2',
        total_actions: 2,
        risk_safe: 1,
        risk_moderate: 1,
        risk_destructive: 0,
        risk_critical: 0,
        risk_none: 0,
        approved: 1,
        rejected: 1,
        successful: 2,
        failed: 0,
        ms: 1010,
      },
    ]);
  });

  it('skips an event type it does not know, counts it, and still moves the checkpoint past it', async () => {
    const approvals = runner.status().projections.find((p) => p.name === 'approvals')!;
    expect(approvals.skipped).toEqual({ unhandled: 1, newer: 0, byType: { FutureThing: 1 } });
    expect(approvals.position).toBe(positions.last!.toString());
    expect(runner.status().healthy).toBe(true);
    const { rows } = await sql.query(
      `SELECT name, position, error FROM read_models.projection_checkpoints ORDER BY name`,
    );
    expect(rows).toEqual([
      { name: 'approvals', position: positions.last!.toString(), error: null },
      { name: 'executions', position: positions.last!.toString(), error: null },
    ]);
  });

  it('creates the mismatches table for reconciliation, empty', async () => {
    const { rows } = await sql.query(`SELECT count(*)::int AS n FROM read_models.mismatches`);
    expect(rows).toEqual([{ n: 0 }]);
  });
});
