import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { APPEND_ONLY_VIOLATION, PARTITION_REFUSED } from '../src/postgres/ledger-schema.js';
import { MIGRATIONS } from '../src/postgres/migration-scripts.js';
import { runMigrations } from '../src/postgres/migrations.js';
import { PostgresEventStore } from '../src/postgres/postgres-event-store.js';
import { newEvent, rawClient } from './postgres-test-support.js';

describe('events table partitioned by time (migration 5)', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db.drop();
  });

  it('turns a table that already holds events into the first partition, and the store carries on after them', async () => {
    // given a database at migration 4 holding 30 events of 3 streams
    await runMigrations(db.url, { migrations: MIGRATIONS.filter((migration) => migration.version <= 4) });
    const before = await PostgresEventStore.connect({ connectionString: db.url, migrate: false });
    try {
      for (const stream of ['p-a', 'p-b', 'p-c']) {
        await before.appendToStream(
          stream,
          Array.from({ length: 10 }, () => newEvent()),
          { expectedRevision: 'no_stream' },
        );
      }
    } finally {
      await before.close();
    }
    const sql = await rawClient(db.url);
    try {
      const rows = async () =>
        (
          await sql.query<{ p: string; hash: string }>(
            'SELECT global_position::text AS p, hash FROM ledger.events ORDER BY 1',
          )
        ).rows;
      const old = await rows();

      // when migration 5 runs
      expect((await runMigrations(db.url)).applied).toEqual([5]);

      // then the events are the same rows in the first partition, and a second, open partition follows them
      expect(await rows()).toEqual(old);
      const partitions = (
        await sql.query<{ name: string; first: string; end: string | null; rows: string }>(
          `SELECT p.name, p.first_position::text AS first, p.end_position::text AS end,
                  (SELECT count(*) FROM ledger.events e WHERE e.tableoid = to_regclass('ledger.' || p.name))::text AS rows
             FROM ledger.event_partitions p ORDER BY p.first_position`,
        )
      ).rows;
      expect(partitions).toEqual([
        { name: 'events_p000001', first: '1', end: '31', rows: '30' },
        { name: 'events_p000002', first: '31', end: null, rows: '0' },
      ]);

      // and the store appends after them, at the next positions and revisions, in the open partition
      const store = await PostgresEventStore.connect({ connectionString: db.url });
      try {
        const appended = await store.appendToStream('p-a', [newEvent()], { expectedRevision: 9 });
        expect(appended.nextExpectedRevision).toBe(10);
        expect(appended.lastPosition).toBe(31n);
        // a duplicate revision is still refused across partitions
        await expect(store.appendToStream('p-b', [newEvent()], { expectedRevision: 3 })).rejects.toThrow();

        // when the open partition is rolled, a new one starts at the next position
        const { rows: rolled } = await sql.query<{ name: string }>('SELECT ledger.roll_event_partition() AS name');
        expect(rolled[0]!.name).toBe('events_p000002');
        const next = await store.appendToStream('p-c', [newEvent()], { expectedRevision: 9 });
        expect(next.lastPosition).toBe(32n);
        const { rows: holder } = await sql.query<{ t: string }>(
          'SELECT tableoid::regclass::text AS t FROM ledger.events WHERE global_position = 32',
        );
        expect(holder[0]!.t).toBe('ledger.events_p000003');
        // …owned by ledger_owner like everything in the schema
        const { rows: owners } = await sql.query<{ owner: string }>(
          `SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relnamespace = 'ledger'::regnamespace`,
        );
        expect(owners).toEqual([{ owner: 'ledger_owner' }]);
      } finally {
        await store.close();
      }

      // and every partition stays append-only, and none can be detached or dropped outside the drop procedure
      await expect(sql.query('DELETE FROM ledger.events_p000001')).rejects.toMatchObject({
        code: APPEND_ONLY_VIOLATION,
      });
      await expect(sql.query('TRUNCATE ledger.events_p000002')).rejects.toMatchObject({ code: APPEND_ONLY_VIOLATION });
      await expect(sql.query('UPDATE ledger.events SET type = $1', ['x'])).rejects.toMatchObject({
        code: APPEND_ONLY_VIOLATION,
      });
      await expect(sql.query('ALTER TABLE ledger.events DETACH PARTITION ledger.events_p000001')).rejects.toMatchObject(
        { code: PARTITION_REFUSED },
      );
      await expect(sql.query('DROP TABLE ledger.events_p000002')).rejects.toMatchObject({ code: PARTITION_REFUSED });
      expect((await rows()).length).toBe(32);
    } finally {
      await sql.end();
    }
  });
});
