import { PostgresEventStore, runMigrations } from '@audit-ledger/event-store';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { fillEvents } from '../../../bench/src/archive-workload.js';
import { startTestLedger } from '../../../test/support/ledger-app.js';
import { issueTestCredentials } from '../../../test/support/test-credentials.js';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import type { RunningLedger } from '../src/index.js';
import { nextPeriodStart, periodStart } from '../src/partitions/partition-period.js';
import { PartitionRoller } from '../src/partitions/partition-roller.js';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

/**
 * Issue 13: the running ledger rolls the events table's partitions itself (no cron for `ledger archive roll`). A
 * ledger started on a database whose open partition holds last month's events closes it before it serves, and the
 * events appended after land in a partition of their own; when the next month begins, the open partition is rolled
 * again and that month's events land in the new one.
 */
describe('partitions rolled by the running ledger', () => {
  let db: TestDatabase;
  let sql: pg.Client;
  let store: PostgresEventStore;
  let ledger: RunningLedger | undefined;

  /** The partitions attached to ledger.events, from the catalog (not from the ledger's own registry). */
  const attached = async () =>
    (
      await sql.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = 'ledger.events'::regclass ORDER BY c.relname`,
      )
    ).rows.map((row) => row.name);
  const partitionOf = async (position: number | string) =>
    (
      await sql.query<{ name: string }>(
        'SELECT tableoid::regclass::text AS name FROM ledger.events WHERE global_position = $1',
        [position],
      )
    ).rows[0]?.name;
  const appendOne = async () => {
    const appended = await store.appendToStream(
      `now-${randomUUID()}`,
      [{ eventId: randomUUID(), type: 'Happened', data: { n: 1 }, metadata: { actor: 'test' } }],
      { expectedRevision: 'no_stream' },
    );
    return appended.lastPosition;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    await runMigrations(db.url);
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    store = await PostgresEventStore.connect({ connectionString: db.url, migrate: false, poolSize: 2, logger: silent });
  });

  afterAll(async () => {
    await ledger?.close();
    await store?.close();
    await sql?.end();
    await db?.drop();
  });

  it('given last month in the open partition, when the ledger starts, then it closes it without any CLI call', async () => {
    const lastMonth = periodStart(new Date(periodStart(new Date(), 'month').getTime() - 1), 'month');
    await fillEvents(sql, {
      count: 20,
      streams: 2,
      streamPrefix: 'last-month',
      firstRecordedAt: lastMonth,
      stepMs: 60_000,
      payload: 'small',
    });
    expect(await attached()).toEqual(['events_p000001', 'events_p000002']);
    expect(await partitionOf(20)).toBe('ledger.events_p000002');

    ledger = await startTestLedger(db.url, { reconciliationEnabled: false });

    expect(await attached()).toEqual(['events_p000001', 'events_p000002', 'events_p000003']);
    const tree = await sql.query<{ relid: string; isleaf: boolean }>(
      `SELECT relid::text, isleaf FROM pg_partition_tree('ledger.events') WHERE isleaf ORDER BY relid::text`,
    );
    expect(tree.rows.map((row) => row.relid)).toEqual([
      'ledger.events_p000001',
      'ledger.events_p000002',
      'ledger.events_p000003',
    ]);
    // Last month's events stay where they were; what is appended now goes to the new partition.
    expect(await partitionOf(1)).toBe('ledger.events_p000002');
    expect(await partitionOf(20)).toBe('ledger.events_p000002');
    const position = await appendOne();
    expect(await partitionOf(String(position))).toBe('ledger.events_p000003');
    const bound = await sql.query<{ bound: string }>(
      `SELECT pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_class c WHERE c.oid = 'ledger.events_p000002'::regclass`,
    );
    expect(bound.rows[0]!.bound).toBe("FOR VALUES FROM ('1') TO ('21')");

    const health = await fetch(`http://127.0.0.1:${ledger.httpPort}/health`);
    expect(await health.json()).toMatchObject({
      partitions: {
        enabled: true,
        period: 'month',
        rolling: true,
        leadership: { role: 'leader' },
        lastRolledPartition: 'events_p000002',
        openPartition: { name: 'events_p000003', firstPosition: '21' },
        attachedPartitions: 3,
        nextRollAt: nextPeriodStart(new Date(), 'month').toISOString(),
        overdue: false,
      },
    });
    const credentials = await issueTestCredentials(ledger);
    const metrics = await (
      await fetch(`http://127.0.0.1:${ledger.httpPort}/metrics`, {
        headers: { authorization: `Bearer ${credentials.reader}` },
      })
    ).text();
    expect(metrics).toMatch(/^ledger_event_partitions_attached 3$/m);
    expect(metrics).toMatch(/^ledger_event_partition_roll_overdue 0$/m);
    expect(metrics).toMatch(/^ledger_event_partition_last_roll_timestamp_seconds [1-9]/m);
  });

  it('given this month in the open partition, when the next month begins, then its events land in their own partition', async () => {
    await ledger?.close();
    ledger = undefined;
    let clock = new Date();
    const roller = new PartitionRoller({
      databaseUrl: db.url,
      period: 'month',
      checkIntervalMs: 60_000,
      lockTimeoutMs: 200,
      logger: silent as never,
      now: () => clock,
    });
    await roller.setRolling(true);
    // Nothing of an earlier month in the open partition: no roll.
    expect((await roller.check()).lastRolledPartition).toBe('events_p000002');
    const thisMonth = await appendOne();

    clock = new Date(nextPeriodStart(new Date(), 'month').getTime() + 1000);
    // A process that does not lead watches only.
    await roller.setRolling(false);
    expect(await roller.check()).toMatchObject({ overdue: true, openPartition: { name: 'events_p000003' } });
    expect(await attached()).toHaveLength(3);

    // A reader holding the table: the roll gives up after its lock timeout, says why, and is due still.
    const reader = new pg.Client({ connectionString: db.url });
    await reader.connect();
    await reader.query('BEGIN');
    await reader.query('LOCK TABLE ledger.events IN ACCESS SHARE MODE');
    await roller.setRolling(true);
    expect(roller.status()).toMatchObject({ overdue: true, lastError: expect.stringContaining('lock timeout') });
    expect(await attached()).toHaveLength(3);
    await reader.query('COMMIT');
    await reader.end();

    expect(await roller.check()).toMatchObject({
      overdue: false,
      lastRolledPartition: 'events_p000003',
      openPartition: { name: 'events_p000004', firstRecordedAt: null },
    });
    // The empty open partition is not rolled again.
    expect((await roller.check()).attachedPartitions).toBe(4);
    expect(await attached()).toEqual(['events_p000001', 'events_p000002', 'events_p000003', 'events_p000004']);
    const nextMonth = await appendOne();
    expect(await partitionOf(String(thisMonth))).toBe('ledger.events_p000003');
    expect(await partitionOf(String(nextMonth))).toBe('ledger.events_p000004');
    await roller.stop();
  });
});
