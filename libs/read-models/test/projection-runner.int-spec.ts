import type pg from 'pg';
import { PostgresEventStore, type RecordedEvent } from '@audit-ledger/event-store';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import {
  approvalsProjection,
  defaultProjections,
  executionsProjection,
  ProjectionRunner,
  retryParkedEvents,
  type ParkedEventNotice,
  type Projection,
  type ProjectionStatus,
} from '../src/index.js';
import {
  append,
  appendHistory,
  caughtUp,
  checkpoint,
  custom,
  expectExactlyOnce,
  rawClient,
  waitFor,
} from './read-model-test-support.js';

const byName = (runner: ProjectionRunner, name: string): ProjectionStatus =>
  runner.status().projections.find((p) => p.name === name)!;

/** Projects Pinged values (streams ping-*) into read_models.test_pings; `beforeApply` may throw on an event first. */
const pingsProjection = (beforeApply: (event: RecordedEvent) => void): Projection => ({
  name: 'pings',
  version: 1,
  handles: ['Pinged'],
  filter: { streamPrefixes: ['ping-'] },
  migrations: [{ id: '001', sql: 'CREATE TABLE read_models.test_pings (value integer PRIMARY KEY)' }],
  async apply(client, event) {
    beforeApply(event);
    await client.query('INSERT INTO read_models.test_pings (value) VALUES ($1)', [event.data.value]);
  },
});

describe('projection runner', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let sql: pg.Client;
  const runners: ProjectionRunner[] = [];
  const stores: PostgresEventStore[] = [];

  beforeEach(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.connect({ connectionString: db.url, pollIntervalMs: 100 });
    sql = await rawClient(db.url);
  });

  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.stop()));
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await sql?.end();
    await store?.close();
    await db?.drop();
  });

  async function start(options: Partial<Parameters<typeof ProjectionRunner.start>[0]> = {}) {
    const runner = await ProjectionRunner.start({
      store,
      connectionString: db.url,
      projections: defaultProjections(),
      lockRetryMs: 200,
      reconnectMs: 100,
      ...options,
    });
    runners.push(runner);
    return runner;
  }

  /** Appends a Pinged event a value to stream ping-1, in order; returns the last one's position. */
  async function appendPings(...values: number[]): Promise<bigint> {
    let last = 0n;
    for (const value of values) last = await append(store, custom('Pinged', { value }), 'ping-1');
    return last;
  }

  it("commits a batch without waiting for its WAL flush, while the store's appends still wait for theirs", async () => {
    // given a projection that records, inside its batch's transaction, whether that transaction's commit is synchronous
    const settings: string[] = [];
    const syncProjection: Projection = {
      name: 'sync-settings',
      version: 1,
      handles: ['Pinged'],
      filter: { streamPrefixes: ['ping-'] },
      migrations: [],
      async apply(client) {
        const { rows } = await client.query<{ setting: string }>(
          "SELECT current_setting('synchronous_commit') AS setting",
        );
        settings.push(rows[0]!.setting);
      },
    };
    const runner = await start({ projections: [syncProjection] });

    // when events are appended and projected
    const last = await appendPings(1, 2, 3);
    await caughtUp(runner, last);

    // then every batch committed with synchronous_commit off, and the database's own setting (the appends') is on
    expect(settings).toHaveLength(3);
    expect(new Set(settings)).toEqual(new Set(['off']));
    const { rows } = await sql.query<{ setting: string }>("SELECT current_setting('synchronous_commit') AS setting");
    expect(rows[0]!.setting).toBe('on');
  });

  it('parks the event a projection throws on and carries on, healthy; a retry after the fix applies it; upcasts old versions', async () => {
    // given a projection that understands Pinged v2, upcasts v1, and throws on a poisoned event
    let poisonFixed = false;
    const pings: Projection = {
      ...pingsProjection((event) => {
        if (event.data.poison === true && !poisonFixed) throw new Error(`poisoned value ${String(event.data.value)}`);
      }),
      schemaVersions: { Pinged: 2 },
      upcasters: [
        {
          type: 'Pinged',
          fromSchemaVersion: 1,
          upcast: (e: RecordedEvent) => ({
            ...e,
            data: { value: e.data.n },
            metadata: { ...e.metadata, schemaVersion: 2 },
          }),
        },
      ],
    };
    const ping = (data: Record<string, unknown>, version = 2) =>
      append(store, custom('Pinged', data, version), 'ping-1');
    await ping({ n: 1 }, 1);
    await ping({ value: 2 });
    await ping({ value: 3 });
    await ping({ value: 99 }, 3); // newer than understood: skipped and counted
    const beforePoison = await append(store, custom('Other', {}), 'ping-1'); // not handled: skipped and counted
    const poison = await ping({ value: 4, poison: true });
    const last = await ping({ value: 5 });

    // when the runner catches up
    const runner = await start({ projections: [pings], failureRetryMs: 100, parkedRefreshMs: 100 });

    // then it parks the poisoned event (recorded with its error) and carries on past it, healthy
    await caughtUp(runner, last);
    const status = byName(runner, 'pings');
    expect(status).toMatchObject({
      position: last.toString(),
      parked: 1,
      lastParked: { position: poison.toString(), eventType: 'Pinged', error: 'poisoned value 4' },
    });
    expect(status.state).not.toBe('failed');
    expect(status.skipped).toEqual({ unhandled: 1, newer: 1, byType: { Pinged: 1, Other: 1 } });
    expect(runner.status()).toMatchObject({ healthy: true, parked: { pings: 1 } });
    const values = async () => (await sql.query('SELECT value FROM read_models.test_pings ORDER BY value')).rows;
    expect(await values()).toEqual([{ value: 1 }, { value: 2 }, { value: 3 }, { value: 5 }]);
    const parkedRows = async () =>
      (await sql.query('SELECT projection, position::text, error, attempts FROM read_models.parked_events')).rows;
    expect(await parkedRows()).toEqual([
      { projection: 'pings', position: poison.toString(), error: 'poisoned value 4', attempts: 1 },
    ]);
    expect(beforePoison < poison).toBe(true);

    // when it is retried while the projection is still broken, it stays parked, the attempt counted
    const retry = () => retryParkedEvents({ store, connectionString: db.url, projections: [pings] });
    expect(await retry()).toEqual([
      {
        projection: 'pings',
        retried: 1,
        applied: 0,
        stillParked: [
          {
            position: poison.toString(),
            eventId: expect.any(String),
            eventType: 'Pinged',
            error: 'poisoned value 4',
            attempts: 2,
          },
        ],
      },
    ]);

    // when the projection is fixed and the parked events retried, it is applied and no longer parked
    poisonFixed = true;
    expect(await retry()).toEqual([{ projection: 'pings', retried: 1, applied: 1, stillParked: [] }]);
    expect(await values()).toEqual([{ value: 1 }, { value: 2 }, { value: 3 }, { value: 4 }, { value: 5 }]);
    expect(await parkedRows()).toEqual([]);
    await waitFor('the runner to see nothing parked', () => byName(runner, 'pings').parked === 0);
    expect(await checkpoint(sql, 'pings')).toBe(last);
  });

  it('applies projections that share a table in one transaction per batch: a throw parks the event for that one only', async () => {
    // given two projections writing one table (each its own column), the second throwing on a poisoned event and
    // summing its values per batch into one deferred write
    let poisonFixed = false;
    const table = 'read_models.test_shared';
    const firsts: Projection = {
      name: 'firsts',
      version: 1,
      handles: ['Pinged'],
      filter: { streamPrefixes: ['ping-'] },
      migrations: [{ id: '001', sql: `CREATE TABLE ${table} (value integer PRIMARY KEY, seconds integer)` }],
      async apply(client, event) {
        await client.query(`INSERT INTO ${table} (value) VALUES ($1)`, [event.data.value]);
      },
    };
    const seconds: Projection = {
      name: 'seconds',
      version: 1,
      handles: ['Pinged'],
      filter: { streamPrefixes: ['ping-'] },
      tables: ['test_shared'],
      migrations: [],
      async apply(client, event, batch) {
        if (event.data.poison === true && !poisonFixed) throw new Error('poisoned');
        const values = batch!.deferred(
          'seconds',
          () => [] as number[],
          async (c, pending: number[]) => {
            await c.query(`UPDATE ${table} SET seconds = value * 2 WHERE value = ANY($1::integer[])`, [pending]);
          },
        );
        values.push(event.data.value as number);
      },
    };
    await append(store, custom('Pinged', { value: 1 }), 'ping-1');
    const beforePoison = await append(store, custom('Pinged', { value: 2 }), 'ping-1');
    const poison = await append(store, custom('Pinged', { value: 3, poison: true }), 'ping-1');
    const last = await append(store, custom('Pinged', { value: 4 }), 'ping-1');

    // when one runner applies both, telling onParked of what it parks
    const told: ParkedEventNotice[] = [];
    const runner = await start({
      projections: [firsts, seconds],
      failureRetryMs: 100,
      onParked: (notice) => told.push(notice),
    });

    // then the failing one parks the poisoned event, the other applies it, and both carry on in one transaction
    await caughtUp(runner, last);
    expect(byName(runner, 'seconds')).toMatchObject({ position: last.toString(), parked: 1 });
    expect(byName(runner, 'firsts')).toMatchObject({ position: last.toString(), parked: 0 });
    expect(await checkpoint(sql, 'firsts')).toBe(last);
    expect(await checkpoint(sql, 'seconds')).toBe(last);
    const rows = async () => (await sql.query(`SELECT value, seconds FROM ${table} ORDER BY value`)).rows;
    expect(await rows()).toEqual([
      { value: 1, seconds: 2 },
      { value: 2, seconds: 4 },
      { value: 3, seconds: null },
      { value: 4, seconds: 8 },
    ]);
    expect(beforePoison < poison).toBe(true);
    // and onParked was told once, of the failing projection only, naming the event and where it lies
    expect(told).toEqual([
      {
        projection: 'seconds',
        position: poison.toString(),
        eventId: expect.any(String),
        eventType: 'Pinged',
        streamId: 'ping-1',
        streamRevision: 2,
        recordedAt: expect.any(String),
        error: expect.any(String),
        at: expect.any(String),
      },
    ]);

    // and once fixed, a retry applies it for the one that parked it, its deferred writes made
    poisonFixed = true;
    const retried = await retryParkedEvents({ store, connectionString: db.url, projections: [firsts, seconds] });
    expect(retried).toEqual([
      { projection: 'firsts', retried: 0, applied: 0, stillParked: [] },
      { projection: 'seconds', retried: 1, applied: 1, stillParked: [] },
    ]);
    expect(await rows()).toEqual([1, 2, 3, 4].map((value) => ({ value, seconds: value * 2 })));
  });

  it('never parks on a transient database error (connection, timeout, resources): it retries until the event applies', async () => {
    // given a projection whose attempts at one event fail a few times with errors the database may not repeat
    const transient = ['57014', '08006', '53200', '40001', '25P02'];
    let attempts = 0;
    const pings = pingsProjection((event) => {
      if (event.data.value === 2 && attempts < transient.length) {
        const code = transient[attempts++]!;
        throw Object.assign(new Error(`transient ${code}`), { code });
      }
    });
    const last = await appendPings(1, 2, 3);

    // when the runner catches up
    const runner = await start({ projections: [pings], failureRetryMs: 100 });

    // then every value is applied, nothing parked
    await caughtUp(runner, last);
    expect(attempts).toBe(transient.length);
    expect(byName(runner, 'pings').parked).toBe(0);
    expect((await sql.query('SELECT count(*)::int AS n FROM read_models.parked_events')).rows).toEqual([{ n: 0 }]);
    expect((await sql.query('SELECT value FROM read_models.test_pings ORDER BY value')).rows).toEqual([
      { value: 1 },
      { value: 2 },
      { value: 3 },
    ]);
  });

  it('applies a batch again at once when the database aborts it for a deadlock, without recording a failure', async () => {
    // given a projection whose first attempt at an event is aborted as a deadlock victim
    let deadlocks = 0;
    const pings = pingsProjection((event) => {
      if (event.data.value === 2 && deadlocks++ === 0) {
        throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
      }
    });
    const last = await appendPings(1, 2, 3);

    // when the runner catches up (a real failure would wait failureRetryMs: an hour here)
    const runner = await start({ projections: [pings], failureRetryMs: 3_600_000 });
    await caughtUp(runner, last);

    // then every event is applied once and no failure was recorded
    const { rows } = await sql.query('SELECT value FROM read_models.test_pings ORDER BY value');
    expect(rows).toEqual([{ value: 1 }, { value: 2 }, { value: 3 }]);
    expect(deadlocks).toBe(2);
    expect(byName(runner, 'pings').failure).toBeUndefined();
  });

  it('loses nothing and duplicates nothing when its connection dies mid-batch', async () => {
    // given a history, and an executions projection whose connection is killed during its 25th execution
    const history = await appendHistory(store, 5, 8);
    let executionsSeen = 0;
    const crashing: Projection = {
      ...executionsProjection,
      async apply(client, event) {
        if (event.type === 'ExecutionLogged' && ++executionsSeen === 25) {
          await client.query('SELECT pg_terminate_backend(pg_backend_pid())');
        }
        await executionsProjection.apply(client, event);
      },
    };
    const first = await start({ projections: [approvalsProjection, crashing], batchSize: 10, reconnectMs: 60_000 });
    await waitFor('the crash', () => byName(first, 'executions').state === 'reconnecting');

    // then what was committed is exactly the batches before the crash
    const committed = await checkpoint(sql, 'executions');
    expect(committed).toBeGreaterThan(0n);
    expect(committed).toBeLessThan(history.last);
    const { rows } = await sql.query(
      `SELECT count(*)::int AS n, coalesce(max(global_position), 0)::text AS max FROM read_models.executions`,
    );
    const { rows: expected } = await sql.query(
      `SELECT count(*)::int AS n FROM ledger.events WHERE type = 'ExecutionLogged' AND global_position <= $1`,
      [committed.toString()],
    );
    expect(rows[0].n).toBe(expected[0].n);
    expect(BigInt(rows[0].max)).toBeLessThanOrEqual(committed);
    await first.stop();

    // when another runner starts (the restarted process), then every row is there exactly once
    const second = await start();
    await caughtUp(second, history.last);
    await expectExactlyOnce(sql, history);
    expect(await checkpoint(sql, 'executions')).toBe(history.last);
    expect(await checkpoint(sql, 'approvals')).toBe(history.last);
  });

  it('runs each projection in one process only, and hands over within seconds when it stops', async () => {
    // given two runners standing for two ledger processes, each with its own store and pool
    const storeB = await PostgresEventStore.connect({ connectionString: db.url, pollIntervalMs: 100, migrate: false });
    stores.push(storeB);
    const a = await start({ applicationName: 'runner-a' });
    await waitFor('runner a to hold the locks', () => a.status().projections.every((p) => p.active));
    const b = await start({ store: storeB, applicationName: 'runner-b' });
    const history = await appendHistory(store, 4, 5);

    // then only the first applies; the second stands by and reports the checkpoint
    await caughtUp(a, history.last);
    await waitFor('runner b to see the checkpoint', () =>
      b.status().projections.every((p) => p.state === 'standby' && BigInt(p.position) === history.last),
    );
    expect(b.status().projections.map((p) => [p.active, p.applied])).toEqual([
      [false, 0],
      [false, 0],
    ]);
    expect(b.status().healthy).toBe(true);

    // when the first stops (its connections close, releasing the locks)
    await a.stop();
    const stoppedAt = Date.now();
    await waitFor('runner b to take over', () => b.status().projections.every((p) => p.active), 5000);
    expect(Date.now() - stoppedAt).toBeLessThan(3000);
    const more = await appendHistory(store, 2, 3);
    await caughtUp(b, more.last);

    // then nothing was applied twice
    const total = { ...history, last: more.last };
    total.executions += more.executions;
    total.totalDurationMs += more.totalDurationMs;
    total.events += more.events;
    await expectExactlyOnce(sql, total);
    for (const name of ['approvals', 'executions']) {
      expect(byName(a, name).applied + byName(b, name).applied).toBe(total.events);
    }
  });
  it('takes over when the active process dies (its connections are gone)', async () => {
    // given runner a active, runner b standing by; a will not come back (it waits a minute to reconnect)
    const storeB = await PostgresEventStore.connect({ connectionString: db.url, pollIntervalMs: 100, migrate: false });
    stores.push(storeB);
    const a = await start({ applicationName: 'runner-a', reconnectMs: 60_000 });
    await waitFor('runner a to hold the locks', () => a.status().projections.every((p) => p.active));
    const b = await start({ store: storeB, applicationName: 'runner-b' });
    const history = await appendHistory(store, 2, 3);
    await caughtUp(a, history.last);

    // when the server drops every connection of runner a
    await sql.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'runner-a'`,
    );

    // then runner b takes over within seconds and goes on from a's checkpoint
    await waitFor('runner b to take over', () => b.status().projections.every((p) => p.active), 5000);
    expect(a.status().healthy).toBe(false);
    const more = await appendHistory(store, 2, 3);
    await caughtUp(b, more.last);
    await expectExactlyOnce(sql, {
      last: more.last,
      events: history.events + more.events,
      executions: history.executions + more.executions,
      totalDurationMs: history.totalDurationMs + more.totalDurationMs,
    });
  });
});
