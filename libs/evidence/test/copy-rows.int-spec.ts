import pg from 'pg';
import { adminUrl } from '../../../test/support/test-database.js';
import { copyRows } from '@audit-ledger/evidence';

/**
 * Binary COPY rows as the verifier reads them (copied into shared slabs and handed out in runs) and as the archive
 * writer reads them (parsed from the socket's reads, messages cut between reads joined): rows that fill several slabs
 * or reads, rows larger than a slab and a handler that awaits must all arrive whole and in order.
 */
describe.each([
  ['shared slabs', {}],
  ['socket reads', { socketReads: true }],
])('copyRows over a real PostgreSQL connection, %s', (_, options) => {
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
    const rows = await copyRows(
      client,
      query,
      2,
      async (row, fields) => {
        const n = Number(row.readBigInt64BE(fields[0]!));
        const text = row.toString('latin1', fields[2]!, fields[3]!);
        const length = n % 1000 === 0 ? 1200000 : 900 + (n % 200);
        if (text !== String.fromCharCode(65 + (n % 26)).repeat(length)) wrong += 1;
        seen.push(n);
        if (n % 500 === 0) await new Promise((resolve) => setTimeout(resolve, 1)); // the socket pauses meanwhile
      },
      options,
    );
    expect(rows).toBe(6000);
    expect(wrong).toBe(0);
    expect(seen).toEqual(Array.from({ length: 6000 }, (_, i) => i + 1));
  });

  it('given rows kept after their handler returned, when the copy is over, then they still hold their bytes', async () => {
    // (the archive writer keeps a file's rows until it writes them: no buffer they lie in may be reused)
    const kept: { row: Buffer; start: number; end: number }[] = [];
    await copyRows(
      client,
      `SELECT n, repeat(chr(65 + (n % 26)), 500 + n % 700) FROM generate_series(1, 20000) AS n`,
      2,
      (row, fields) => void kept.push({ row, start: fields[0]!, end: fields[3]! }),
      options,
    );
    const wrong = kept.filter(({ row, start, end }, i) => {
      const n = row.readInt32BE(start);
      const text = row.toString('latin1', start + 8, end);
      return n !== i + 1 || text !== String.fromCharCode(65 + (n % 26)).repeat(500 + (n % 700));
    });
    expect(kept).toHaveLength(20000);
    expect(wrong).toHaveLength(0);
  });

  it('given a query that fails, when copied, then it rejects and the connection still answers', async () => {
    await expect(copyRows(client, 'SELECT 1 / 0', 1, () => undefined, options)).rejects.toThrow(/division by zero/);
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('given a failure after rows were sent, when copied, then it rejects and the connection still answers', async () => {
    const query = `SELECT n, 1 / (3000 - n) FROM generate_series(1, 3000) AS n`;
    await expect(copyRows(client, query, 2, () => undefined, options)).rejects.toThrow(/division by zero/);
    expect((await client.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
  });

  it('given notices between the rows, when copied, then every row arrives and the connection still answers', async () => {
    const notices: string[] = [];
    const onNotice = (notice: { message?: string }) => notices.push(notice.message ?? '');
    client.on('notice', onNotice);
    try {
      await client.query(`CREATE OR REPLACE FUNCTION pg_temp.noisy(n int) RETURNS int LANGUAGE plpgsql AS $$
        BEGIN IF n % 1000 = 0 THEN RAISE NOTICE 'row %', n; END IF; RETURN n; END $$`);
      const seen: number[] = [];
      const query = `SELECT pg_temp.noisy(n), repeat('x', 700) FROM generate_series(1, 5000) AS n`;
      await copyRows(client, query, 2, (row, fields) => void seen.push(row.readInt32BE(fields[0]!)), options);
      expect(seen).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1));
      expect(notices).toEqual(['row 1000', 'row 2000', 'row 3000', 'row 4000', 'row 5000']);
    } finally {
      client.off('notice', onNotice);
    }
    expect((await client.query('SELECT 3 AS three')).rows).toEqual([{ three: 3 }]);
  });

  it('given a handler that throws, when copied, then it rejects and the connection still answers', async () => {
    const query = `SELECT n, repeat('y', 900) FROM generate_series(1, 20000) AS n`;
    const failing = copyRows(
      client,
      query,
      2,
      (row, fields) => {
        if (row.readInt32BE(fields[0]!) === 10) throw new Error('handler failed');
      },
      options,
    );
    await expect(failing).rejects.toThrow('handler failed');
    expect((await client.query('SELECT 4 AS four')).rows).toEqual([{ four: 4 }]);
  });
});
