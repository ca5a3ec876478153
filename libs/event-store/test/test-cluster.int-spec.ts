import pg from 'pg';
import { createTestDatabase } from '../../../test/support/test-database.js';

describe('test PostgreSQL', () => {
  it('gives each test file a database of its own', async () => {
    const db = await createTestDatabase();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const { rows } = await client.query<{ name: string }>('SELECT current_database() AS name');
    await client.end();
    await db.drop();
    expect(rows[0]?.name).toBe(db.name);
  });
});
