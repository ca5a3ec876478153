import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { MasterKeyMismatchError, StreamKeys } from '@audit-ledger/payload-keys';

/** The per-stream data keys on a real PostgreSQL: one live key per stream, destroyed for good. */
describe('stream data keys', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  const master = randomBytes(32);

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = new pg.Pool({ connectionString: database.url, max: 4 });
    await new StreamKeys(pool, master).ensureSchema();
  });
  afterAll(async () => {
    await pool.end();
    await database.drop();
  });

  it('given processes asking at once for a new stream’s key, then they all get the same one', async () => {
    const processes = Array.from({ length: 6 }, () => new StreamKeys(pool, master));
    const keys = await Promise.all(processes.map((keys) => keys.keyFor('approval-race')));
    expect(new Set(keys.map((key) => key.keyId)).size).toBe(1);
    expect(new Set(keys.map((key) => key.key.toString('hex'))).size).toBe(1);
  });

  it('given a destroyed key, then every process reads it as destroyed and the stream gets a new key', async () => {
    const writer = new StreamKeys(pool, master);
    const other = new StreamKeys(pool, master, () => Date.now() + 60_000); // its cache long expired
    const first = await writer.keyFor('approval-erased');
    const client = await pool.connect();
    try {
      expect(await writer.destroy(client, 'approval-erased')).toEqual([first.keyId]);
    } finally {
      client.release();
    }
    expect(await other.keysById([first.keyId])).toEqual(new Map([[first.keyId, null]]));
    const [row] = (
      await pool.query<{ wrapped_key: Buffer | null }>(
        'SELECT wrapped_key FROM ledger_keys.stream_keys WHERE key_id = $1',
        [first.keyId],
      )
    ).rows;
    expect(row).toEqual({ wrapped_key: null });
    expect((await writer.keyFor('approval-erased')).keyId).not.toBe(first.keyId);
  });

  it('refuses another master key than the database’s', async () => {
    await expect(new StreamKeys(pool, randomBytes(32)).ensureSchema()).rejects.toThrow(MasterKeyMismatchError);
  });
});
