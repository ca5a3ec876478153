import type pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { APPEND_ONLY_VIOLATION, WRITER_ROLE } from '../src/postgres/ledger-schema.js';
import { silentLogger } from '../src/postgres/logger.js';
import { PostgresEventStore } from '../src/postgres/postgres-event-store.js';
import { WriterPool } from '../src/postgres/writer-pool.js';
import { insertRow, newEvent, rawClient } from './postgres-test-support.js';

describe('ledger.events is append-only (design invariant 1)', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let superuser: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.connect({ connectionString: db.url });
    await store.appendToStream('audit-1', [newEvent(), newEvent()]);
    superuser = await rawClient(db.url);
  });

  afterAll(async () => {
    await superuser?.end();
    await store?.close();
    await db?.drop();
  });

  describe('as the owner (superuser), the triggers refuse with a clear message', () => {
    it.each([
      ['UPDATE', `UPDATE ledger.events SET type = 'Edited'`],
      ['UPDATE', `UPDATE ledger.events SET type = 'Edited' WHERE false`],
      ['DELETE', `DELETE FROM ledger.events`],
      ['TRUNCATE', `TRUNCATE ledger.events`],
    ])('%s: %s', async (operation, sql) => {
      const error = await superuser.query(sql).catch((caught: unknown) => caught);
      expect(error).toMatchObject({
        code: APPEND_ONLY_VIOLATION,
        message: `ledger.events is append-only: ${operation} is not allowed (audit ledger invariant 1)`,
      });
    });

    it('even with session_replication_role = replica', async () => {
      await superuser.query('SET session_replication_role = replica');
      try {
        await expect(superuser.query('DELETE FROM ledger.events')).rejects.toMatchObject({
          code: APPEND_ONLY_VIOLATION,
        });
      } finally {
        await superuser.query('RESET session_replication_role');
      }
    });

    it('left every event in place', async () => {
      expect(await store.readStream('audit-1')).toHaveLength(2);
    });
  });

  describe(`as ${WRITER_ROLE}`, () => {
    let pool: WriterPool;

    beforeAll(() => {
      pool = new WriterPool({ connectionString: db.url, poolSize: 1, logger: silentLogger });
    });

    afterAll(async () => {
      await pool?.end();
    });

    it('is the role of every service connection', async () => {
      const { rows } = await pool.query<{ role: string }>('SELECT current_user AS role');
      expect(rows[0]?.role).toBe(WRITER_ROLE);
    });

    it.each([
      `UPDATE ledger.events SET type = 'Edited'`,
      `DELETE FROM ledger.events`,
      `TRUNCATE ledger.events`,
      `ALTER TABLE ledger.events DISABLE TRIGGER events_append_only`,
      `DROP TABLE ledger.events`,
    ])('is refused by privileges before any trigger: %s', async (sql) => {
      await expect(pool.query(sql)).rejects.toMatchObject({ code: '42501' });
    });

    it('may only SELECT and INSERT', async () => {
      const { rows } = await superuser.query<Record<string, boolean>>(
        `SELECT ${['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']
          .map((p) => `has_table_privilege('${WRITER_ROLE}', 'ledger.events', '${p}') AS "${p}"`)
          .join(', ')}`,
      );
      expect(rows[0]).toEqual({
        SELECT: true,
        INSERT: true,
        UPDATE: false,
        DELETE: false,
        TRUNCATE: false,
        REFERENCES: false,
        TRIGGER: false,
      });
    });

    it('inserts and selects', async () => {
      const position = await pool.withClient((client) => insertRow(client, 'audit-2'));
      const { rows } = await pool.query<{ stream_id: string }>(
        'SELECT stream_id FROM ledger.events WHERE global_position = $1',
        [position.toString()],
      );
      expect(rows).toEqual([{ stream_id: 'audit-2' }]);
    });

    it('cannot choose a global position', async () => {
      const insert = pool.query(
        `INSERT INTO ledger.events (global_position, event_id, stream_id, stream_revision, type, data, metadata,
                                    prev_hash, hash)
         VALUES (1000000, gen_random_uuid(), 'audit-3', 0, 'Forged', '{}', '{}', 'x', 'y')`,
      );
      await expect(insert).rejects.toMatchObject({ code: '428C9' });
    });
  });
});
