import pg from 'pg';
import { approvalStreamId, sessionStreamId } from '@audit-ledger/domain';
import { type NewEvent, PostgresEventStore } from '@audit-ledger/event-store';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import {
  advisoryLockKey,
  ProjectionRunner,
  projectionsWithReconciliation,
  ReadModelQueries,
  ReadModelRetention,
  readRetentionState,
  rebuildProjections,
  trimReadModels,
  type SummaryQuery,
} from '../src/index.js';
import { appendMarker, matched, mismatch, reviewed } from './generated-history.js';
import { execution, grant, rawClient, waitFor } from './read-model-test-support.js';

const DAY = 86_400_000;

/**
 * A history on both sides of the retention cut. The clock the trim is given is 30 days ahead and the window 10 days,
 * so the cut lies 20 days from now: the mismatches (detected now, the store's time) are before it, and so are the
 * executions of March; the executions started 25 days from now (their `startedAt`) are after it.
 *
 *   OLD (granted 2026-03-01): O1 10:00 ok 100 ms, mismatch reviewed → trimmed with O1
 *                             O2 11:30 failed 300 ms, mismatch open → O2 trimmed, its open mismatch kept
 *                             O3 2026-03-02 10:00, mismatch then MATCH (superseded) → both trimmed
 *   session S (no approval):  S1 2026-03-03 09:00 → trimmed
 *   NEW (granted +25 days):   N1 +25 days, mismatch reviewed → kept (its execution is after the cut)
 */
describe('retention of the read models', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let sql: pg.Client;
  let pool: pg.Pool;
  let runner: ProjectionRunner;
  let queries: ReadModelQueries;
  const now = new Date(Date.now() + 30 * DAY);
  const later = new Date(Date.now() + 25 * DAY).toISOString();
  const retentionDays = 10;

  const to = async (stream: string, event: NewEvent): Promise<bigint> =>
    (await store.appendToStream(stream, [event])).lastPosition;
  const settle = async (): Promise<void> => {
    const marker = await appendMarker(store);
    await waitFor('the projections', () => runner.status().projections.every((p) => BigInt(p.position) >= marker));
  };
  const eventsFingerprint = async (): Promise<unknown> =>
    (
      await sql.query(
        `SELECT count(*)::int AS events, max(global_position)::text AS last,
                md5(string_agg(hash || event_id::text || data::text, '' ORDER BY global_position)) AS digest
           FROM ledger.events`,
      )
    ).rows[0];
  const tableFingerprint = async (table: string): Promise<unknown> =>
    (
      await sql.query(
        `SELECT count(*)::int AS rows, md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) AS digest
           FROM read_models.${table} r`,
      )
    ).rows[0];
  const ids = async (table: string, column: string): Promise<string[]> =>
    (await sql.query<{ id: string }>(`SELECT ${column} AS id FROM read_models.${table} ORDER BY 1`)).rows.map(
      (r) => r.id,
    );
  /** Summaries the rollups answer (every grain, grouped and not, open and whole-hour bounds in the trimmed period). */
  const rollupQueries: SummaryQuery[] = [
    { groupBy: [], bucket: 'day' },
    { groupBy: ['riskLevel'], bucket: 'hour' },
    { groupBy: ['worker'], bucket: 'week' },
    { groupBy: ['toolName'], bucket: 'day', from: new Date('2026-03-01T11:00:00Z') },
    // a bound inside an hour of the trimmed period counts that whole hour (O2 at 11:30), before and after the trim
    { groupBy: ['worker'], bucket: 'hour', from: new Date('2026-03-01T11:15:00Z'), to: new Date('2026-03-02T10:00Z') },
    { groupBy: [], bucket: 'hour', from: new Date('2026-02-01T00:00:00Z'), to: new Date(later) },
  ];
  const summaries = async (list: SummaryQuery[]): Promise<unknown[]> =>
    Promise.all(list.map((query) => queries.summaries(query)));

  let mismatchIds: Record<'O1' | 'O2' | 'O3' | 'N1', string>;

  beforeAll(async () => {
    db = await createTestDatabase('read_models_retention');
    store = await PostgresEventStore.connect({ connectionString: db.url, pollIntervalMs: 50 });
    sql = await rawClient(db.url);
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    queries = new ReadModelQueries(pool);
    const OLD = approvalStreamId('OLD');
    const NEW = approvalStreamId('NEW');
    const S = sessionStreamId('S');
    await to(OLD, grant({ approvalId: 'OLD', grantedAt: '2026-03-01T09:00:00.000Z', requestedBy: { workerId: 'w1' } }));
    const run = async (stream: string, id: string, startedAt: string, exitCode: number, durationMs: number) =>
      to(
        stream,
        execution({
          executionId: id,
          ...(stream === S ? { sessionId: 'S' } : { approvalId: stream === OLD ? 'OLD' : 'NEW' }),
          workerId: 'w1',
          startedAt,
          finishedAt: startedAt,
          exitCode,
          durationMs,
        }),
      );
    const found = async (stream: string, fields: Parameters<typeof mismatch>[0]): Promise<string> => {
      const { event, mismatchId } = mismatch(fields);
      await to(stream, event);
      return mismatchId;
    };
    await run(OLD, 'O1', '2026-03-01T10:00:00.000Z', 0, 100);
    const o1 = await found(OLD, { approvalId: 'OLD', executionId: 'O1', kind: 'command_not_approved' });
    await to(OLD, reviewed(o1, 'confirmed'));
    await run(OLD, 'O2', '2026-03-01T11:30:00.000Z', 1, 300);
    const o2 = await found(OLD, { approvalId: 'OLD', executionId: 'O2', kind: 'dangerous_deviation' });
    await run(OLD, 'O3', '2026-03-02T10:00:00.000Z', 0, 200);
    const o3 = await found(OLD, { approvalId: 'OLD', executionId: 'O3', kind: 'command_not_approved' });
    await to(OLD, matched('O3', 'r2'));
    await run(S, 'S1', '2026-03-03T09:00:00.000Z', 0, 50);
    await to(NEW, grant({ approvalId: 'NEW', grantedAt: later, requestedBy: { workerId: 'w2' } }));
    await run(NEW, 'N1', later, 0, 70);
    const n1 = await found(NEW, { approvalId: 'NEW', executionId: 'N1', kind: 'command_not_approved' });
    await to(NEW, reviewed(n1, 'false_positive'));
    mismatchIds = { O1: o1, O2: o2, O3: o3, N1: n1 };
    runner = await ProjectionRunner.start({
      store,
      connectionString: db.url,
      projections: projectionsWithReconciliation(),
    });
    await settle();
  });

  afterAll(async () => {
    await runner?.stop();
    await pool?.end();
    await sql?.end();
    await store?.close();
    await db?.drop();
  });

  it('given nothing older than the window, when a trim runs, then it deletes nothing and records no cut: exact summaries stay exact', async () => {
    const report = await trimReadModels({ connectionString: db.url, retentionDays: 3650 });
    expect(report).toMatchObject({ ran: true, trimmed: { executions: 0, reconciliation_verdicts: 0, mismatches: 0 } });
    expect(await readRetentionState(pool)).toMatchObject({ trimmedBefore: null, lastRunAt: report.finishedAt });
    expect(await queries.summaries({ groupBy: [], bucket: 'day', exact: true })).toMatchObject({ p95: 'exact' });
  });

  it('given rows older and newer than the window, when the job runs, then the old detail rows are gone, the new ones and the aggregates stay, the summaries and the events are unchanged', async () => {
    const aggregates = ['daily_summaries', 'session_summaries', 'summary_rollups', 'approvals'];
    const before = {
      events: await eventsFingerprint(),
      aggregates: await Promise.all(aggregates.map(tableFingerprint)),
      checkpoints: await tableFingerprint('projection_checkpoints'),
      summaries: await summaries(rollupQueries),
      exact: await queries.summaries({ groupBy: ['riskLevel'], bucket: 'day', exact: true }),
      retained: await queries.summaries({
        groupBy: ['worker', 'toolName'],
        bucket: 'day',
        from: new Date(now.getTime() - retentionDays * DAY),
      }),
    };
    expect(await ids('executions', 'execution_id')).toEqual(['N1', 'O1', 'O2', 'O3', 'S1']);

    const job = new ReadModelRetention({
      connectionString: db.url,
      retentionDays,
      intervalMs: 3_600_000,
      now: () => now,
    });
    const report = await job.runOnce();
    await job.stop();

    expect(report).toMatchObject({ ran: true, trimmed: { executions: 4, mismatches: 2 } });
    expect(report!.trimmed.reconciliation_verdicts).toBeGreaterThanOrEqual(1);
    expect(report!.cutoff).toEqual(new Date(Math.floor((now.getTime() - 10 * DAY) / 3_600_000) * 3_600_000));
    expect(job.status()).toMatchObject({
      enabled: true,
      retentionDays,
      lastRunAt: report!.finishedAt.toISOString(),
      trimmed: report!.trimmed,
    });
    expect(await ids('executions', 'execution_id')).toEqual(['N1']);
    expect(await ids('mismatches', 'mismatch_id')).toEqual([mismatchIds.O2, mismatchIds.N1].sort());
    const { rows: verdicts } = await sql.query(
      `SELECT subject FROM read_models.reconciliation_verdicts WHERE subject IN ('O1', 'O2', 'O3', 'S1')`,
    );
    expect(verdicts).toEqual([]);
    expect(await eventsFingerprint()).toEqual(before.events);
    expect(await Promise.all(aggregates.map(tableFingerprint))).toEqual(before.aggregates);
    expect(await tableFingerprint('projection_checkpoints')).toEqual(before.checkpoints);
    expect(await summaries(rollupQueries)).toEqual(before.summaries);
    // `exact` needs the rows: over the trimmed period the rollups answer, the same counts, the p95 from histograms
    const counts = ({ items }: { items: Record<string, unknown>[] }) =>
      items.map(({ p95DurationMs: _p95, ...item }) => item);
    const exact = await queries.summaries({ groupBy: ['riskLevel'], bucket: 'day', exact: true });
    expect(before.exact.p95).toBe('exact');
    expect(exact.p95).toBe('histogram');
    expect(counts(exact)).toEqual(counts(before.exact));
    // the exact path (several dimensions) reads the rows: over the retained period it answers as before
    expect(await queries.summaries({ groupBy: ['worker', 'toolName'], bucket: 'day' })).toEqual(before.retained);
    expect(await readRetentionState(pool)).toMatchObject({
      trimmedBefore: report!.cutoff,
      lastTrimmed: report!.trimmed,
    });

    // the projections carry on after the trim
    await to(
      approvalStreamId('NEW'),
      execution({ executionId: 'N2', approvalId: 'NEW', startedAt: later, finishedAt: later }),
    );
    await settle();
    expect(await ids('executions', 'execution_id')).toEqual(['N1', 'N2']);
    expect(runner.status().healthy).toBe(true);
  });

  it('given another process trimming (it holds the lock), when a second trim runs, then it does nothing', async () => {
    await to(
      approvalStreamId('OLD'),
      execution({
        executionId: 'O4',
        approvalId: 'OLD',
        startedAt: '2026-03-04T09:00:00.000Z',
        finishedAt: '2026-03-04T09:00:00.000Z',
      }),
    );
    await settle();
    const other = await rawClient(db.url);
    try {
      await other.query('SELECT pg_advisory_lock($1::bigint)', [advisoryLockKey('retention')]);
      const report = await trimReadModels({ connectionString: db.url, retentionDays, now });
      expect(report).toMatchObject({ ran: false, skipped: 'locked', trimmed: { executions: 0, mismatches: 0 } });
      expect(await ids('executions', 'execution_id')).toContain('O4');
    } finally {
      await other.end();
    }
    const [first, second] = await Promise.all([
      trimReadModels({ connectionString: db.url, retentionDays, now }),
      trimReadModels({ connectionString: db.url, retentionDays, now }),
    ]);
    expect(first!.trimmed.executions + second!.trimmed.executions).toBe(1);
    expect(await ids('executions', 'execution_id')).not.toContain('O4');
  });

  it('given a trimmed history, when the read models are rebuilt, then the old rows come back only until the trim to the recorded cut, and the summaries never change', async () => {
    const before = { summaries: await summaries(rollupQueries), rollups: await tableFingerprint('summary_rollups') };
    const { trimmedBefore } = (await readRetentionState(pool))!;
    await rebuildProjections({ store, connectionString: db.url, projections: projectionsWithReconciliation() });
    // rebuilt from position 0: the trimmed rows are back, the summaries still read the rollups before the cut
    expect(await ids('executions', 'execution_id')).toEqual(['N1', 'N2', 'O1', 'O2', 'O3', 'O4', 'S1']);
    expect(await summaries(rollupQueries)).toEqual(before.summaries);
    // in batches of 2 rows: three statements for the 5 executions
    const report = await trimReadModels({
      connectionString: db.url,
      cutoff: trimmedBefore!,
      waitForLock: true,
      batchSize: 2,
    });
    expect(report).toMatchObject({ ran: true, trimmed: { executions: 5 } });
    expect(await ids('executions', 'execution_id')).toEqual(['N1', 'N2']);
    expect(await tableFingerprint('summary_rollups')).toEqual(before.rollups);
    expect(await summaries(rollupQueries)).toEqual(before.summaries);
    expect(await ids('parked_events', 'position::text')).toEqual([]);
    await settle();
    expect(runner.status().healthy).toBe(true);
  });

  it('given a window of 0 days, then nothing is trimmed', async () => {
    expect(await trimReadModels({ connectionString: db.url, retentionDays: 0, now })).toMatchObject({
      ran: false,
      skipped: 'disabled',
    });
  });
});
