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

  describe('a key in use, read again in the background', () => {
    let clock = 0;
    let queries = 0;
    const keysAt = () => {
      // Counts the statements this process sends; the rest of the pool is the real one.
      const counting = new Proxy(pool, {
        get(target, property, receiver) {
          if (property === 'query') {
            return (...args: Parameters<pg.Pool['query']>) => {
              queries += 1;
              return (target.query as (...a: unknown[]) => unknown)(...args);
            };
          }
          return Reflect.get(target, property, receiver) as unknown;
        },
      });
      return new StreamKeys(counting, master, () => clock);
    };

    it('keeps a key used lately and still live without a read per use', async () => {
      // given a process that read a stream's key at t=0 and used it at t=4 s
      clock = 0;
      const keys = keysAt();
      try {
        const first = await keys.keyFor('approval-refreshed');
        clock = 4_000;
        await keys.keyFor('approval-refreshed');
        // when the refresh runs, then past the first read's 5 s the key is used without a statement of its own
        await keys.refresh();
        clock = 8_000;
        queries = 0;
        expect((await keys.keyFor('approval-refreshed')).keyId).toBe(first.keyId);
        expect(queries).toBe(0);
      } finally {
        keys.close();
      }
    });

    it('does not extend a key another process destroyed: the stream gets a new key once the old one runs out', async () => {
      clock = 0;
      const keys = keysAt();
      const eraser = new StreamKeys(pool, master);
      try {
        const first = await keys.keyFor('approval-erased-elsewhere');
        clock = 4_000;
        await keys.keyFor('approval-erased-elsewhere');
        const client = await pool.connect();
        try {
          await eraser.destroy(client, 'approval-erased-elsewhere');
        } finally {
          client.release();
        }
        await keys.refresh();
        clock = 6_000;
        expect((await keys.keyFor('approval-erased-elsewhere')).keyId).not.toBe(first.keyId);
      } finally {
        keys.close();
        eraser.close();
      }
    });
  });

  it('refuses another master key than the database’s', async () => {
    await expect(new StreamKeys(pool, randomBytes(32)).ensureSchema()).rejects.toThrow(MasterKeyMismatchError);
  });
});
