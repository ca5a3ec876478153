import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { PostgresEventStore } from '@audit-ledger/event-store';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import {
  defaultProjections,
  ProjectionRunner,
  projectionsWithReconciliation,
  rebuildProjections,
  rebuildUnits,
  advisoryLockKey,
  REBUILD_SCHEMA,
  RebuildInProgressError,
  UnknownProjectionError,
  type Projection,
  type RebuildProgress,
} from '../src/index.js';
import { appendGeneratedHistory, appendMarker, dumpReadModels, READ_MODEL_TABLES } from './generated-history.js';
import { checkpoint, rawClient, waitFor } from './read-model-test-support.js';

/**
 * Appends a marker after `_position` and waits for every projection to pass it (filtered projections' checkpoints
 * stop at their own last event); on a timeout says where each projection is and why.
 */
const caughtUp = async (runner: ProjectionRunner, _position: bigint, store: PostgresEventStore): Promise<void> =>
  waitUntilAt(runner, await appendMarker(store)).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}: ${JSON.stringify(runner.status(), null, 1)}`);
  });

const waitUntilAt = async (runner: ProjectionRunner, position: bigint): Promise<void> =>
  waitFor(
    `projections at position ${position}`,
    () => runner.status().projections.every((p) => p.active && BigInt(p.position) >= position),
    45_000,
  );

describe('which projections a rebuild takes', () => {
  it('given the ledger projections, when any one is named, then all three are rebuilt (reconciliation writes approvals and executions rows)', () => {
    for (const name of ['approvals', 'executions', 'reconciliation']) {
      const units = rebuildUnits(projectionsWithReconciliation(), [name]);
      expect(units.map((u) => u.projections.map((p) => p.name))).toEqual([
        ['approvals', 'executions', 'reconciliation'],
      ]);
      expect([...units[0]!.tables].sort()).toEqual([...READ_MODEL_TABLES].sort());
    }
  });

  it('given projections that share no table, when one is named, then only it is rebuilt', () => {
    const units = rebuildUnits(defaultProjections(), ['approvals']);
    expect(units).toEqual([{ projections: [expect.objectContaining({ name: 'approvals' })], tables: ['approvals'] }]);
    expect(rebuildUnits(defaultProjections()).map((u) => u.projections.map((p) => p.name))).toEqual([
      ['approvals'],
      ['executions'],
    ]);
  });

  it('given an unknown name, then it is refused with the known names', () => {
    expect(() => rebuildUnits(projectionsWithReconciliation(), ['approvalz'])).toThrow(UnknownProjectionError);
    expect(() => rebuildUnits(projectionsWithReconciliation(), ['approvalz'])).toThrow(
      'known projections: approvals, executions, reconciliation',
    );
  });
});

/**
 * The history is appended straight to the store with the event-store adapter, not through the command path: 5,000
 * events over TCP plus the reconciliation saga would take longer than this suite's budget, and appending directly
 * lets the history hold every event type the projections handle (re-runs that supersede, reviews, approval_unused)
 * in known numbers. The ledger-and-CLI test (apps/cli/test/projections-rebuild.e2e-spec.ts) covers the real path.
 */
describe('ledger projections rebuild (on real PostgreSQL)', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let sql: pg.Client;
  let runner: ProjectionRunner | undefined;
  let appending = false;
  let appender: Promise<void> | undefined;

  const startRunner = async (): Promise<ProjectionRunner> => {
    runner = await ProjectionRunner.start({
      store,
      connectionString: db.url,
      projections: projectionsWithReconciliation(),
      lockRetryMs: 200,
    });
    return runner;
  };

  beforeEach(async () => {
    db = await createTestDatabase('read_models_rebuild');
    store = await PostgresEventStore.connect({ connectionString: db.url });
    sql = await rawClient(db.url);
  });
  afterEach(async () => {
    appending = false;
    await appender?.catch(() => undefined);
    await runner?.stop();
    runner = undefined;
    await sql.end();
    await store.close();
    await db.drop();
  });

  it('given 5,000+ events over 200 approvals projected live, when everything is rebuilt, then every row of every table equals the live one', async () => {
    const live = await startRunner();
    // Projected while it is appended, batch by batch, as in production; the rebuild applies it in large batches.
    const history = await appendGeneratedHistory(store, { approvals: 200, perApproval: 12, sessions: 100 });
    expect(history.events).toBeGreaterThanOrEqual(5000);
    expect(history.approvals).toBe(200);
    await caughtUp(live, history.last, store);
    const before = await dumpReadModels(sql);
    expect(before.approvals).toHaveLength(200);
    expect(before.executions).toHaveLength(history.executions);
    const { rows: current } = await sql.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM read_models.mismatches WHERE NOT superseded',
    );
    expect(current[0]!.n).toBe(history.currentMismatches);
    // A live row gone wrong: only a real rebuild from the events puts it right.
    await sql.query(`UPDATE read_models.approvals SET instruction = 'tampered' WHERE approval_id LIKE '%-A3'`);
    await sql.query(`UPDATE read_models.daily_summaries SET executions = executions + 1`);

    const progress: RebuildProgress[] = [];
    const units = await rebuildProjections({
      store,
      connectionString: db.url,
      projections: projectionsWithReconciliation(),
      onProgress: (p) => progress.push(p),
    });

    const after = await dumpReadModels(sql);
    for (const table of READ_MODEL_TABLES)
      expect({ table, rows: after[table] }).toEqual({ table, rows: before[table] });
    expect(units).toHaveLength(1);
    expect(units[0]).toMatchObject({
      projections: ['approvals', 'executions', 'reconciliation'],
      rows: { approvals: 200, executions: history.executions },
    });
    expect(progress.map((p) => p.step)).toEqual(['unit', 'built', 'swapped']);
    const { rows: head } = await sql.query<{ head: string }>('SELECT max(global_position) AS head FROM ledger.events');
    for (const name of ['approvals', 'executions', 'reconciliation']) {
      expect(await checkpoint(sql, name)).toBe(BigInt(head[0]!.head)); // the marker, the last event
    }
    const { rows: schemas } = await sql.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [REBUILD_SCHEMA]);
    expect(schemas).toEqual([]);
  }, 60_000);

  it('given a ledger runner projecting while events keep being appended, when rebuilt, then afterwards nothing is duplicated or missing and it continues live', async () => {
    const live = await startRunner();
    const first = await appendGeneratedHistory(store, { approvals: 30, perApproval: 5, sessions: 5, prefix: 'P1' });
    await caughtUp(live, first.last, store);

    // Appends go on during the whole rebuild: while the shadow is built, between its catch-up and the swap, and after.
    appending = true;
    let batch = 0;
    const more: Promise<unknown>[] = [];
    appender = (async () => {
      while (appending) {
        more.push(
          appendGeneratedHistory(store, {
            approvals: 2,
            perApproval: 3,
            sessions: 1,
            concurrency: 2,
            prefix: `M${batch++}`,
          }),
        );
        await more[more.length - 1];
        await sleep(100); // a steady load (~100 events/s) that the projections keep up with
      }
    })();
    let beforeSwap: typeof first | undefined;
    const liveBeforeSwap: Record<string, bigint> = {};
    const units = await rebuildProjections({
      store,
      connectionString: db.url,
      projections: projectionsWithReconciliation(),
      batchSize: 200,
      beforeSwap: async () => {
        beforeSwap = await appendGeneratedHistory(store, { approvals: 5, perApproval: 4, sessions: 2, prefix: 'SWAP' });
        // The live worker applies these to the live rows; the swap must not take the read model back behind them.
        await caughtUp(live, beforeSwap.last, store);
        for (const name of ['approvals', 'executions', 'reconciliation'])
          liveBeforeSwap[name] = await checkpoint(sql, name);
      },
    });
    for (const name of ['approvals', 'executions', 'reconciliation']) {
      expect(BigInt(units[0]!.positions[name]!)).toBeGreaterThanOrEqual(liveBeforeSwap[name]!);
    }
    appending = false;
    await appender;
    const histories = [first, beforeSwap!, ...((await Promise.all(more)) as (typeof first)[])];
    histories.push(await appendGeneratedHistory(store, { approvals: 2, perApproval: 2, prefix: 'AFTER' }));
    const last = histories.reduce((max, h) => (h.last > max ? h.last : max), 0n);
    await caughtUp(live, last, store);
    expect(batch).toBeGreaterThan(0);
    expect(Number(units[0]!.positions.executions)).toBeGreaterThan(Number(first.last));

    const executions = histories.reduce((n, h) => n + h.executions, 0);
    const { rows } = await sql.query<Record<string, number>>(
      `SELECT (SELECT count(*)::int FROM read_models.executions) AS executions,
              (SELECT sum(executions)::int FROM read_models.daily_summaries) AS summed,
              (SELECT sum(execution_count)::int FROM read_models.approvals) AS counted,
              (SELECT sum(total_actions)::int FROM read_models.session_summaries) AS session_actions`,
    );
    const { rows: expected } = await sql.query<{ under_approval: number; in_session: number }>(
      `SELECT (count(*) FILTER (WHERE e.approval_id IS NOT NULL))::int AS under_approval,
              (count(*) FILTER (WHERE coalesce(e.session_id, l.session_id) IS NOT NULL))::int AS in_session
         FROM read_models.executions e LEFT JOIN read_models.executions_approval_lookup l USING (approval_id)`,
    );
    expect(rows[0]).toEqual({
      executions,
      summed: executions,
      counted: expected[0]!.under_approval,
      session_actions: expected[0]!.in_session,
    });
    // Each counted once, in the live rows that were swapped in and then projected on by the running worker:
    const { rows: logged } = await sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ledger.events WHERE type = 'ExecutionLogged'`,
    );
    expect(executions).toBe(logged[0]!.n);
    expect(live.status()).toMatchObject({ healthy: true });
    expect(live.status().projections.every((p) => p.active && p.state === 'live')).toBe(true);

    // And the rows equal what a rebuild with no appends running gives.
    const liveRows = await dumpReadModels(sql);
    await rebuildProjections({ store, connectionString: db.url, projections: projectionsWithReconciliation() });
    const rebuilt = await dumpReadModels(sql);
    for (const table of READ_MODEL_TABLES)
      expect({ table, rows: rebuilt[table] }).toEqual({ table, rows: liveRows[table] });
  }, 90_000);

  it('given a checkpoint written by another version, then the status says to run `ledger projections rebuild <name>`, and after the rebuild it no longer does', async () => {
    const first = await appendGeneratedHistory(store, { approvals: 5, perApproval: 2 });
    let live = await startRunner();
    await caughtUp(live, first.last, store);
    await live.stop();
    await sql.query(`UPDATE read_models.projection_checkpoints SET version = 1 WHERE name = 'executions'`);
    live = await startRunner();
    await waitFor('the version mismatch', () =>
      live.status().projections.some((p) => p.name === 'executions' && p.versionMismatch),
    );
    const executions = live.status().projections.find((p) => p.name === 'executions')!;
    expect(executions.versionMismatchHint).toContain('run `ledger projections rebuild executions`');
    expect(executions.versionMismatchHint).toContain('version 1');

    await rebuildProjections({
      store,
      connectionString: db.url,
      projections: projectionsWithReconciliation(),
      names: ['executions'],
    });
    const more = await appendGeneratedHistory(store, { approvals: 1, perApproval: 1 });
    await caughtUp(live, more.last, store);
    expect(live.status().projections.find((p) => p.name === 'executions')).toMatchObject({ versionMismatch: false });
    expect(live.status().projections.find((p) => p.name === 'executions')?.versionMismatchHint).toBeUndefined();
  }, 60_000);
  it('given a projection that cannot apply an event, when rebuilt, then it parks the event (as the live runner does) and swaps the rest in', async () => {
    let calls = 0;
    let poisonId: string | undefined;
    const counting: Projection = {
      name: 'counting',
      version: 1,
      handles: ['ExecutionLogged'],
      migrations: [{ id: '001', sql: 'CREATE TABLE read_models.counting (id text PRIMARY KEY)' }],
      async apply(client, event) {
        // the live run applies everything; the rebuild cannot apply the third execution, whenever it meets it
        if (rebuilding && ++calls === 3) poisonId = event.eventId;
        if (rebuilding && event.eventId === poisonId) throw new Error('cannot count this one');
        await client.query('INSERT INTO read_models.counting (id) VALUES ($1)', [event.eventId]);
      },
    };
    let rebuilding = false;
    const projections = [...projectionsWithReconciliation(), counting];
    runner = await ProjectionRunner.start({ store, connectionString: db.url, projections });
    const history = await appendGeneratedHistory(store, { approvals: 3, perApproval: 2 });
    const marker = await appendMarker(store);
    await waitUntilAt(runner, marker);
    const before = await sql.query<{ id: string }>('SELECT id FROM read_models.counting ORDER BY id');
    expect(before.rows).toHaveLength(history.executions);

    rebuilding = true;
    await rebuildProjections({ store, connectionString: db.url, projections, names: ['counting'] });
    expect((await sql.query('SELECT id FROM read_models.counting ORDER BY id')).rows).toEqual(
      before.rows.filter((row) => row.id !== poisonId),
    );
    expect(await checkpoint(sql, 'counting')).toBe(marker);
    const { rows: parked } = await sql.query('SELECT projection, event_id, error FROM read_models.parked_events');
    expect(parked).toEqual([{ projection: 'counting', event_id: poisonId, error: 'cannot count this one' }]);
    const { rows: schemas } = await sql.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [REBUILD_SCHEMA]);
    expect(schemas).toEqual([]);
  });

  it('given a rebuild already running, when another starts, then it is refused and leaves the running one alone', async () => {
    const other = await rawClient(db.url);
    try {
      await other.query('SELECT pg_advisory_lock($1::bigint)', [advisoryLockKey('rebuild')]);
      await other.query(`CREATE SCHEMA ${REBUILD_SCHEMA}`); // the running rebuild's shadow
      await expect(
        rebuildProjections({ store, connectionString: db.url, projections: projectionsWithReconciliation() }),
      ).rejects.toBeInstanceOf(RebuildInProgressError);
      const { rows } = await sql.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [REBUILD_SCHEMA]);
      expect(rows).toHaveLength(1);
    } finally {
      await other.end();
    }
  });
});
