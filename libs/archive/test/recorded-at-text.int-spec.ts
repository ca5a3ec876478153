import { copyRows } from '@audit-ledger/evidence';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { writeIsoMillis } from '../src/archive-writer.js';

/**
 * The archive writer reads recording times as binary timestamps and writes them itself: the text must be, byte for
 * byte, what PostgreSQL's `to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')` wrote before.
 */
describe('archive files: recording times', () => {
  let db: TestDatabase;
  let sql: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    await sql.query(`SET TIME ZONE 'America/St_Johns'`); // not UTC, and not whole hours
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
  });

  it("are PostgreSQL's to_char text of them, to the millisecond, for edge and random times", async () => {
    const edges = [
      '2000-01-01 00:00:00+00',
      '1999-12-31 23:59:59.999999+00',
      '1970-01-01 00:00:00.000999+00',
      '1969-12-31 23:59:59.9995+00',
      '0001-01-01 00:00:00+00',
      '0999-06-15 01:02:03.004+00',
      '1600-02-29 12:00:00.5+00',
      '9999-12-31 23:59:59.999999+00',
      '2025-06-30 12:34:56.789999+00',
    ];
    const pairs: [string, string][] = [];
    const text = Buffer.alloc(32);
    await copyRows(
      sql,
      `SELECT t, to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
         FROM (SELECT unnest($$${`{${edges.map((e) => `"${e}"`).join(',')}}`}$$::timestamptz[]) AS t
               UNION ALL
               SELECT timestamptz '1800-01-01 00:00:00+00' + random() * interval '400 years' FROM generate_series(1, 20000)) AS times`,
      2,
      (row, fields) => {
        const end = writeIsoMillis(row, fields[0]!, 1, text, 0);
        pairs.push([text.toString('latin1', 0, end), row.toString('latin1', fields[2]!, fields[3]!)]);
      },
    );
    expect(pairs).toHaveLength(edges.length + 20_000);
    expect(pairs.filter(([mine, theirs]) => mine !== theirs)).toEqual([]);
  });
});
