import pg from 'pg';
import { adminUrl } from '../../../test/support/test-database.js';
import { copyRows } from '@audit-ledger/evidence';

/**
 * Binary COPY rows as the verifier reads them: rows are copied into shared slabs and handed out in runs, so rows that
 * fill several slabs, rows larger than a slab and a handler that awaits must all arrive whole and in order.
 */
describe('copyRows over a real PostgreSQL connection', () => {
  let client: pg.Client;
  beforeAll(async () => {
    client = new pg.Client({ connectionString: adminUrl() });
    await client.connect();
  });
  afterAll(async () => {
    await client.end();
  });

  it('given rows of many sizes (some larger than a slab), when copied, then each arrives whole, in order', async () => {
    // 6,000 rows of ~1 KiB roll over several 1 MiB slabs; every 1,000th is 1.2 MB.
    const query = `SELECT n::bigint, repeat(chr(65 + (n % 26)), CASE WHEN n % 1000 = 0 THEN 1200000 ELSE 900 + n % 200 END)
      FROM generate_series(1, 6000) AS n ORDER BY n`;
    const seen: number[] = [];
    let wrong = 0;
    const rows = await copyRows(client, query, 2, async (row, fields) => {
      const n = Number(row.readBigInt64BE(fields[0]!));
      const text = row.toString('latin1', fields[2]!, fields[3]!);
      const length = n % 1000 === 0 ? 1200000 : 900 + (n % 200);
      if (text !== String.fromCharCode(65 + (n % 26)).repeat(length)) wrong += 1;
      seen.push(n);
      if (n % 500 === 0) await new Promise((resolve) => setTimeout(resolve, 1)); // the socket pauses meanwhile
    });
    expect(rows).toBe(6000);
    expect(wrong).toBe(0);
    expect(seen).toEqual(Array.from({ length: 6000 }, (_, i) => i + 1));
  });

  it('given a query that fails, when copied, then it rejects and the connection still answers', async () => {
    await expect(copyRows(client, 'SELECT 1 / 0', 1, () => undefined)).rejects.toThrow(/division by zero/);
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });
});
