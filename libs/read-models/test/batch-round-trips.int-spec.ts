import pg from 'pg';
import { PostgresEventStore } from '@audit-ledger/event-store';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import {
  ProjectionRunner,
  projectionsWithReconciliation,
  sendLater,
  type Projection,
  type ProjectionStatus,
} from '../src/index.js';
import { matched } from './generated-history.js';
import { append, caughtUp, checkpoint, custom, execution, grant, rawClient } from './read-model-test-support.js';

/** The messages each client sent (node-postgres `query` calls), while `record` is on. */
function recordQueries(): { perClient: Map<object, string[]>; restore(): void } {
  const perClient = new Map<object, string[]>();
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text;
    if (text !== undefined) perClient.set(this, [...(perClient.get(this) ?? []), text]);
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  return { perClient, restore: () => void (pg.Client.prototype.query = original) };
}

/** Per projection batch (from the message that opens it to the one that commits it): how many messages it took. */
function roundTripsPerBatch(perClient: Map<object, string[]>): number[] {
  const batches: number[] = [];
  for (const texts of perClient.values()) {
    let open: number | undefined;
    for (const text of texts) {
      if (text.includes('SET LOCAL synchronous_commit = off')) open = 0;
      if (open === undefined) continue;
      open += 1;
      if (/COMMIT\s*$/.test(text)) {
        batches.push(open);
        open = undefined;
      }
    }
  }
  return batches;
}

describe('projection batches: round trips', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let sql: pg.Client;
  const runners: ProjectionRunner[] = [];

  beforeEach(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.connect({ connectionString: db.url, pollIntervalMs: 100 });
    sql = await rawClient(db.url);
  });

  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.stop()));
    await sql?.end();
    await store?.close();
    await db?.drop();
  });

  async function start(projections: Projection[]): Promise<ProjectionRunner> {
    const runner = await ProjectionRunner.start({
      store,
      connectionString: db.url,
      projections,
      lockRetryMs: 200,
      reconnectMs: 100,
      failureRetryMs: 100,
    });
    runners.push(runner);
    return runner;
  }

  it('applies a batch of executions and their verdicts in three round trips: the writes whose results nobody reads go with the next statement that is read, or with the commit', async () => {
    // given three approvals projected already, then executions and their verdicts
    const approvals = ['RT-1', 'RT-2', 'RT-3'];
    for (const approvalId of approvals) await append(store, grant({ approvalId }));
    const first = await start(projectionsWithReconciliation());
    await caughtUp(first, await append(store, grant({ approvalId: 'RT-0' })));
    await first.stop();
    let last = 0n;
    for (const approvalId of approvals) {
      for (let i = 0; i < 3; i++) {
        const logged = execution({ approvalId, sessionId: `s-${approvalId}` });
        await append(store, logged);
        last = await append(
          store,
          matched((logged.data as { executionId: string }).executionId),
          `approval-${approvalId}`,
        );
      }
    }

    // when a runner applies them (one catch-up batch), its messages counted
    const recorded = recordQueries();
    try {
      const runner = await start(projectionsWithReconciliation());
      await caughtUp(runner, last);
    } finally {
      recorded.restore();
    }

    // then the batch opened, fenced, locked, wrote executions, summaries, approvals and verdicts and committed in 3
    // (BEGIN + fence + locks + approvals' counts + the superseded mismatches + the executions' insert; the summaries +
    // the verdicts; the verdicts on executions and approvals + checkpoint + COMMIT), where each statement on its own
    // took 12
    expect(roundTripsPerBatch(recorded.perClient)).toEqual([3]);
    const { rows } = await sql.query(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE reconciliation_verdict = 'matched')::int AS matched,
              (SELECT sum(execution_count)::int FROM read_models.approvals) AS counted,
              (SELECT sum(executions)::int FROM read_models.daily_summaries) AS daily,
              (SELECT sum(total_actions)::int FROM read_models.session_summaries) AS sessions
         FROM read_models.executions`,
    );
    expect(rows).toEqual([{ n: 9, matched: 9, counted: 9, daily: 9, sessions: 9 }]);
    expect(
      (
        await sql.query(
          `SELECT DISTINCT status FROM read_models.approvals WHERE approval_id LIKE 'RT-_' AND approval_id <> 'RT-0'`,
        )
      ).rows,
    ).toEqual([{ status: 'matched' }]);
  });

  it('parks the event whose queued write fails only at the commit, and carries on (the batch is applied again, each statement on its own)', async () => {
    // given a projection whose only write waits for the commit, and a value its table refuses
    const table = 'read_models.test_queued';
    const queued: Projection = {
      name: 'queued',
      version: 1,
      handles: ['Pinged'],
      filter: { streamPrefixes: ['ping-'] },
      migrations: [{ id: '001', sql: `CREATE TABLE ${table} (value integer PRIMARY KEY CHECK (value <> 3))` }],
      async apply(client, event) {
        await sendLater(client, `INSERT INTO ${table} (value) VALUES ($1)`, [event.data.value]);
      },
    };
    let last = 0n;
    for (const value of [1, 2, 3, 4]) last = await append(store, custom('Pinged', { value }), 'ping-1');

    // when a runner applies them
    const runner = await start([queued]);
    await caughtUp(runner, last);

    // then the refused value's event is parked, the others applied, the checkpoint past them all
    const status = runner.status().projections[0] as ProjectionStatus;
    expect(status).toMatchObject({ parked: 1, position: last.toString() });
    expect(status.failure).toBeUndefined();
    expect((await sql.query(`SELECT value FROM ${table} ORDER BY value`)).rows).toEqual([
      { value: 1 },
      { value: 2 },
      { value: 4 },
    ]);
    const { rows: parked } = await sql.query('SELECT projection, error FROM read_models.parked_events');
    expect(parked).toEqual([{ projection: 'queued', error: expect.stringContaining('check constraint') }]);
    expect(await checkpoint(sql, 'queued')).toBe(last);
  });
});
