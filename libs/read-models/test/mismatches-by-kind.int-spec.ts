import pg from 'pg';
import { approvalStreamId, sessionStreamId } from '@audit-ledger/domain';
import { type NewEvent, PostgresEventStore } from '@audit-ledger/event-store';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import {
  durationBucket,
  DURATION_P95_MAX_RELATIVE_ERROR,
  ProjectionRunner,
  projectionsWithReconciliation,
  ReadModelQueries,
} from '../src/index.js';
import { appendMarker, matched, mismatch } from './generated-history.js';
import { execution, grant, rawClient, waitFor } from './read-model-test-support.js';

/**
 * Hand-computed fixture for `daily_summaries.mismatches_by_kind`, the summary rollups and the summaries query's
 * `mismatchesByKind` (every execution takes 100 ms):
 *
 *   B1 destructive, worker w1
 *     X1 shell   2026-03-01 10:00  command_not_approved                       → counts
 *     X2 shell   2026-03-01 11:00  dangerous_deviation                        → counts
 *     X3 kubectl 2026-03-02 10:00  command_not_approved, re-run: dangerous_deviation → only the second counts
 *     X4 shell   2026-03-01 12:00  command_not_approved, re-run: MATCH        → nothing counts
 *   B2 safe, worker w2, no execution: approval_unused, on the day it was detected, tool ''
 *   session S: X5 git 2026-03-03 09:00, worker w3, no approval: no_approval (risk level none)
 */
describe('mismatches by kind in the summaries', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let sql: pg.Client;
  let pool: pg.Pool;
  let runner: ProjectionRunner;
  let detectedDay: string;

  beforeAll(async () => {
    db = await createTestDatabase('read_models_mismatch_kinds');
    store = await PostgresEventStore.connect({ connectionString: db.url, pollIntervalMs: 50 });
    sql = await rawClient(db.url);
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    const to = async (stream: string, event: NewEvent): Promise<void> => {
      await store.appendToStream(stream, [event]);
    };
    const B1 = approvalStreamId('B1');
    const B2 = approvalStreamId('B2');
    const S = sessionStreamId('S');
    await to(B1, grant({ approvalId: 'B1', riskLevel: 'destructive', requestedBy: { workerId: 'w1' } }));
    await to(B2, grant({ approvalId: 'B2', riskLevel: 'safe', requestedBy: { workerId: 'w2' } }));
    const run = async (id: string, toolName: string, startedAt: string): Promise<void> =>
      to(
        B1,
        execution({
          executionId: id,
          approvalId: 'B1',
          workerId: 'w1',
          toolName,
          startedAt,
          finishedAt: startedAt,
          // the summaries count an execution under the assessed risk of its command: this one is destructive
          command: 'rm -r /srv/app',
        }),
      );
    await run('X1', 'shell', '2026-03-01T10:00:00.000Z');
    await to(B1, mismatch({ approvalId: 'B1', executionId: 'X1', kind: 'command_not_approved' }).event);
    await run('X2', 'shell', '2026-03-01T11:00:00.000Z');
    await to(B1, mismatch({ approvalId: 'B1', executionId: 'X2', kind: 'dangerous_deviation' }).event);
    await run('X3', 'kubectl', '2026-03-02T10:00:00.000Z');
    await to(B1, mismatch({ approvalId: 'B1', executionId: 'X3', kind: 'command_not_approved' }).event);
    await to(B1, mismatch({ approvalId: 'B1', executionId: 'X3', kind: 'dangerous_deviation' }, 'r2').event);
    await run('X4', 'shell', '2026-03-01T12:00:00.000Z');
    await to(B1, mismatch({ approvalId: 'B1', executionId: 'X4', kind: 'command_not_approved' }).event);
    await to(B1, matched('X4', 'r2'));
    await to(B2, mismatch({ approvalId: 'B2', kind: 'approval_unused' }).event);
    const at = '2026-03-03T09:00:00.000Z';
    await to(
      S,
      execution({
        executionId: 'X5',
        sessionId: 'S',
        workerId: 'w3',
        toolName: 'git',
        command: 'git log',
        startedAt: at,
        finishedAt: at,
      }),
    );
    await to(S, mismatch({ sessionId: 'S', executionId: 'X5', kind: 'no_approval' }).event);
    const { rows } = await sql.query<{ day: string }>(
      `SELECT to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day FROM ledger.events
        WHERE stream_id = $1 AND type = 'MismatchDetected'`,
      [B2],
    );
    detectedDay = rows[0]!.day;

    runner = await ProjectionRunner.start({
      store,
      connectionString: db.url,
      projections: projectionsWithReconciliation(),
    });
    const marker = await appendMarker(store);
    await waitFor('the projections', () => runner.status().projections.every((p) => BigInt(p.position) >= marker));
  });

  afterAll(async () => {
    await runner?.stop();
    await pool?.end();
    await sql?.end();
    await store?.close();
    await db?.drop();
  });

  it('counts the current mismatches by kind per day, worker, risk level and tool in daily_summaries', async () => {
    const { rows } = await sql.query(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, worker_id, risk_level, tool_name, executions, mismatches_by_kind
         FROM read_models.daily_summaries ORDER BY day, worker_id, risk_level, tool_name`,
    );
    const expected = [
      {
        day: '2026-03-01',
        worker_id: 'w1',
        risk_level: 'destructive',
        tool_name: '',
        executions: 0,
        mismatches_by_kind: {},
      },
      {
        day: '2026-03-01',
        worker_id: 'w1',
        risk_level: 'destructive',
        tool_name: 'shell',
        executions: 3,
        mismatches_by_kind: { command_not_approved: 1, dangerous_deviation: 1 },
      },
      { day: '2026-03-01', worker_id: 'w2', risk_level: 'safe', tool_name: '', executions: 0, mismatches_by_kind: {} },
      {
        day: '2026-03-02',
        worker_id: 'w1',
        risk_level: 'destructive',
        tool_name: 'kubectl',
        executions: 1,
        mismatches_by_kind: { dangerous_deviation: 1 },
      },
      {
        day: '2026-03-03',
        worker_id: 'w3',
        risk_level: 'safe',
        tool_name: 'git',
        executions: 1,
        mismatches_by_kind: { no_approval: 1 },
      },
      {
        day: detectedDay,
        worker_id: 'w2',
        risk_level: 'safe',
        tool_name: '',
        executions: 0,
        mismatches_by_kind: { approval_unused: 1 },
      },
    ];
    expect(rows).toEqual(expected.sort((a, b) => a.day.localeCompare(b.day)));
  });

  it('agrees with the mismatches that are not superseded', async () => {
    const { rows } = await sql.query(
      `SELECT kind, count(*)::int AS n FROM read_models.mismatches WHERE NOT superseded GROUP BY kind ORDER BY kind`,
    );
    const { rows: summed } = await sql.query(
      `SELECT key AS kind, sum(value::int)::int AS n FROM read_models.daily_summaries, jsonb_each_text(mismatches_by_kind)
        GROUP BY key ORDER BY key`,
    );
    expect(summed).toEqual(rows);
  });

  it('returns mismatchesByKind per group from the summaries query, with groups that only have mismatches', async () => {
    const queries = new ReadModelQueries(pool);
    const result = await queries.summaries({ groupBy: ['worker', 'riskLevel', 'toolName'], bucket: 'day' });
    const items = result.items.map((item) => ({
      day: item.bucket.toISOString().slice(0, 10),
      worker: item.worker,
      riskLevel: item.riskLevel,
      toolName: item.toolName,
      executions: item.executions,
      mismatchesByKind: item.mismatchesByKind,
    }));
    const expected = [
      {
        day: '2026-03-01',
        worker: 'w1',
        riskLevel: 'destructive',
        toolName: 'shell',
        executions: 3,
        mismatchesByKind: { command_not_approved: 1, dangerous_deviation: 1 },
      },
      {
        day: '2026-03-02',
        worker: 'w1',
        riskLevel: 'destructive',
        toolName: 'kubectl',
        executions: 1,
        mismatchesByKind: { dangerous_deviation: 1 },
      },
      {
        day: '2026-03-03',
        worker: 'w3',
        riskLevel: 'safe',
        toolName: 'git',
        executions: 1,
        mismatchesByKind: { no_approval: 1 },
      },
      {
        day: detectedDay,
        worker: 'w2',
        riskLevel: 'safe',
        toolName: '',
        executions: 0,
        mismatchesByKind: { approval_unused: 1 },
      },
    ];
    expect(items).toEqual(expected.sort((a, b) => a.day.localeCompare(b.day)));

    const byRisk = await queries.summaries({ groupBy: ['riskLevel'], bucket: 'day', riskLevel: 'destructive' });
    expect(byRisk.items.map((i) => [i.bucket.toISOString().slice(0, 10), i.mismatchesByKind])).toEqual([
      ['2026-03-01', { command_not_approved: 1, dangerous_deviation: 1 }],
      ['2026-03-02', { dangerous_deviation: 1 }],
    ]);
  });

  it('keeps the summary rollups per day and tool as computed by hand', async () => {
    const { rows } = await sql.query(
      `SELECT to_char(bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, value, executions, successes, failures,
              total_duration_ms::int AS total, duration_histogram, mismatches_by_kind
         FROM read_models.summary_rollups WHERE grain = 'day' AND dimension = 'toolName' ORDER BY bucket, value`,
    );
    const at100 = (n: number) => ({ [String(durationBucket(100))]: n });
    const expected = [
      {
        day: '2026-03-01',
        value: 'shell',
        executions: 3,
        successes: 3,
        failures: 0,
        total: 300,
        duration_histogram: at100(3),
        mismatches_by_kind: { command_not_approved: 1, dangerous_deviation: 1 },
      },
      {
        day: '2026-03-02',
        value: 'kubectl',
        executions: 1,
        successes: 1,
        failures: 0,
        total: 100,
        duration_histogram: at100(1),
        mismatches_by_kind: { dangerous_deviation: 1 },
      },
      {
        day: '2026-03-03',
        value: 'git',
        executions: 1,
        successes: 1,
        failures: 0,
        total: 100,
        duration_histogram: at100(1),
        mismatches_by_kind: { no_approval: 1 },
      },
      {
        day: detectedDay,
        value: '',
        executions: 0,
        successes: 0,
        failures: 0,
        total: 0,
        duration_histogram: {},
        mismatches_by_kind: { approval_unused: 1 },
      },
    ];
    expect(rows).toEqual(expected);
  });

  it('answers an hourly summary by tool over a range cut mid-hour from the rollups, with the same counts as the rows', async () => {
    const queries = new ReadModelQueries(pool);
    const query = {
      groupBy: ['toolName' as const],
      bucket: 'hour' as const,
      from: new Date('2026-03-01T10:30:00.000Z'),
      to: new Date('2026-03-02T10:30:00.000Z'),
    };
    const rollup = await queries.summaries(query);
    const exact = await queries.summaries({ ...query, exact: true });
    const counted = (result: typeof rollup) =>
      result.items.map((i) => [i.bucket.toISOString(), i.toolName, i.executions, i.mismatchesByKind]);
    const expected = [
      ['2026-03-01T11:00:00.000Z', 'shell', 1, { dangerous_deviation: 1 }],
      ['2026-03-01T12:00:00.000Z', 'shell', 1, {}],
      ['2026-03-02T10:00:00.000Z', 'kubectl', 1, { dangerous_deviation: 1 }],
    ];
    expect([rollup.p95, exact.p95]).toEqual(['histogram', 'exact']);
    expect(counted(rollup)).toEqual(expected);
    expect(counted(exact)).toEqual(expected);
    expect(exact.items.map((i) => i.p95DurationMs)).toEqual([100, 100, 100]);
    for (const item of rollup.items) {
      expect(Math.abs(item.p95DurationMs! - 100)).toBeLessThanOrEqual(100 * DURATION_P95_MAX_RELATIVE_ERROR);
    }
  });
});
