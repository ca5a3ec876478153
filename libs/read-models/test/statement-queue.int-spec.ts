import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { inlineParameters, sendLater, statementName, StatementQueue } from '../src/statement-queue.js';

describe('statement queue', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let client: pg.PoolClient;
  /** Every message the raw client sent. */
  let sent: string[];

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 1 });
  });

  beforeEach(async () => {
    client = await pool.connect();
    sent = [];
    const query = client.query.bind(client) as (text: string, values?: unknown[]) => Promise<unknown>;
    (client as unknown as { query: unknown }).query = (text: string, values?: unknown[]) => {
      sent.push(text);
      return query(text, values);
    };
    await query('CREATE TEMP TABLE IF NOT EXISTS q (n integer PRIMARY KEY, note text)');
    await query('TRUNCATE q');
  });

  afterEach(() => client.release(true));

  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  it('inlines parameters as literals that PostgreSQL reads as it reads the parameters', async () => {
    const tricky = `it's a "quote", a back\\slash, {braces}, a comma, ünïcödé, a\nnewline and $1`;
    const cases: [string, unknown][] = [
      ['text', tricky],
      ['text', ''],
      ['text', null],
      ['jsonb', JSON.stringify([{ note: tricky, n: 1.5, nested: { empty: '' } }])],
      ['jsonb', { object: tricky }],
      ['text[]', [tricky, '', 'NULL', null, 'plain']],
      ['text[]', []],
      ['boolean[]', [true, false]],
      ['bigint', '9007199254740993'],
      ['integer', 42],
      ['boolean', false],
      ['timestamptz', new Date('2026-12-07T21:58:26.123Z')],
      ['timestamptz', '2026-12-07T21:58:26.123Z'],
    ];
    const queue = new StatementQueue(client);
    for (const [type, value] of cases) {
      const text = `SELECT $1::${type} AS v, pg_typeof($1::${type})::text AS t`;
      const { rows: parameter } = await client.query(text, [value]);
      const { rows: inlined } = await client.query(inlineParameters(text, [value]));
      const { rows: executed } = await queue.client.query(text, [value]);
      expect({ type, value, row: inlined[0] }).toEqual({ type, value, row: parameter[0] });
      expect({ type, value, row: executed[0] }).toEqual({ type, value, row: parameter[0] });
    }
    // untyped, as in VALUES of an INSERT: typed by the column, as a parameter would be
    await client.query(inlineParameters('INSERT INTO q (n, note) VALUES ($1, $2)', [7, tricky]));
    await queue.client.query('INSERT INTO q (n, note) VALUES ($1, $2)', [8, tricky]);
    expect((await client.query('SELECT n, note FROM q ORDER BY n')).rows).toEqual([
      { n: 7, note: tricky },
      { n: 8, note: tricky },
    ]);
    // a NUL cannot be inlined (PostgreSQL refuses it in text anyway)
    expect(() => inlineParameters('SELECT $1::text', ['a\u0000b'])).toThrow(/NUL/);
  });

  it('sends the statements nobody waits for with the next one waited for, in order, in one round trip', async () => {
    const queue = new StatementQueue(client);
    const checked: number[] = [];
    queue.addText('BEGIN; SELECT 1 AS one', 2, (results) => checked.push(results[1]!.rows[0].one as number));
    await sendLater(queue.client, 'INSERT INTO q (n, note) VALUES ($1, $2)', [1, "first's"]);
    await sendLater(queue.client, 'UPDATE q SET note = note || $1 WHERE n = $2', [' then second', 1]);
    expect(sent).toHaveLength(0);

    // a statement waited for sees every queued one before it, and gets its own result
    const { rows } = await queue.client.query<{ note: string }>('SELECT note FROM q WHERE n = $1', [1]);
    expect(rows).toEqual([{ note: "first's then second" }]);
    expect(checked).toEqual([1]);
    expect(sent).toHaveLength(1);

    // each statement is prepared with its first use on the connection, then only executed
    expect(sent[0]).toContain(`PREPARE ${statementName('SELECT note FROM q WHERE n = $1')} AS SELECT note FROM q`);
    await queue.client.query('SELECT note FROM q WHERE n = $1', [1]);
    expect(sent[1]).toBe(`EXECUTE ${statementName('SELECT note FROM q WHERE n = $1')}('1')`);

    await sendLater(queue.client, 'INSERT INTO q (n) VALUES ($1)', [2]);
    const [update, commit] = await queue.sendWith('UPDATE q SET note = $$x$$ WHERE n = 2; COMMIT', 2);
    expect(update!.rowCount).toBe(1);
    expect(commit!.command).toBe('COMMIT');
    expect(sent).toHaveLength(3);
    expect(queue.failedWithQueued).toBe(false);
    expect((await client.query('SELECT n, note FROM q ORDER BY n')).rows).toEqual([
      { n: 1, note: "first's then second" },
      { n: 2, note: 'x' },
    ]);
  });

  it("says when a round trip that carried queued statements failed (the error may be theirs), and runs a check's throw at the caller", async () => {
    await client.query('BEGIN');
    const queue = new StatementQueue(client);
    await sendLater(queue.client, 'INSERT INTO q (n) VALUES ($1)', [1]);
    await sendLater(queue.client, 'INSERT INTO q (n) VALUES ($1)', [1]); // duplicate key
    await expect(queue.client.query('SELECT 1')).rejects.toThrow(/duplicate key/);
    expect(queue.failedWithQueued).toBe(true);
    await client.query('ROLLBACK');

    const checking = new StatementQueue(client);
    checking.addText('SELECT 2 AS two', 1, () => {
      throw new Error('fence moved');
    });
    expect(checking.checking).toBe(true);
    await expect(checking.client.query('SELECT 1')).rejects.toThrow('fence moved');
    expect(checking.failedWithQueued).toBe(false);
  });

  it('re-reads what the connection prepared after a message that prepared statements failed', async () => {
    // given a message that prepares a statement and fails after it, in a transaction rolled back
    await client.query('BEGIN');
    const queue = new StatementQueue(client);
    await sendLater(queue.client, 'INSERT INTO q (n) VALUES ($1)', [1]);
    await expect(queue.client.query('SELECT 1 / $1::int AS x', [0])).rejects.toThrow(/division by zero/);
    await client.query('ROLLBACK');

    // when the statements are used again on the same connection, then they run (prepared again where needed)
    const again = new StatementQueue(client);
    await sendLater(again.client, 'INSERT INTO q (n) VALUES ($1)', [2]);
    const { rows } = await again.client.query('SELECT 1 / $1::int AS x', [1]);
    expect(rows).toEqual([{ x: 1 }]);
    expect(sent).toContain('SELECT name FROM pg_prepared_statements');
    expect((await client.query('SELECT n FROM q')).rows).toEqual([{ n: 2 }]);
  });

  it('runs a statement at once on a client without a queue', async () => {
    await sendLater(client, 'INSERT INTO q (n) VALUES ($1)', [3]);
    expect(sent).toEqual(['INSERT INTO q (n) VALUES ($1)']);
    expect((await client.query('SELECT n FROM q')).rows).toEqual([{ n: 3 }]);
  });
});
