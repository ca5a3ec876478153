import { jest } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { silentLogger } from '../src/postgres/logger.js';
import { PostgresEventStore } from '../src/postgres/postgres-event-store.js';
import { WriterPool } from '../src/postgres/writer-pool.js';

describe('WriterPool', () => {
  let db: TestDatabase;
  let pool: WriterPool;

  beforeAll(async () => {
    db = await createTestDatabase();
    await (await PostgresEventStore.connect({ connectionString: db.url })).close(); // migrations
    pool = new WriterPool({ connectionString: db.url, poolSize: 2, logger: silentLogger });
  });

  afterAll(async () => {
    jest.useRealTimers();
    await pool?.end();
    await db?.drop();
  });

  it('keeps an idle connection, prepared, however long the ledger is quiet (no new backend for the next append)', async () => {
    const backendOf = async () => (await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const client = await pool.acquire();
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    jest.useFakeTimers();
    client.release();
    jest.advanceTimersByTime(10 * 60_000);
    jest.useRealTimers();
    expect(pool.usage()).toMatchObject({ total: 1, idle: 1 });
    expect(await backendOf()).toBe(rows[0]!.pid);
  });
});
