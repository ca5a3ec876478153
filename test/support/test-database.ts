import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface TestDatabase {
  /** Connection string of a fresh, empty database, as a superuser. */
  url: string;
  name: string;
  drop(): Promise<void>;
}

export function adminUrl(): string {
  const url = process.env.LEDGER_TEST_ADMIN_URL;
  if (!url) throw new Error('LEDGER_TEST_ADMIN_URL is not set: run tests through `npm test` (Jest globalSetup)');
  return url;
}

/** A database of its own for one test file, dropped (with its connections) at the end. */
export async function createTestDatabase(prefix = 'ledger_test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl() });
      await client.connect();
      try {
        // A pool some test left open still holds idle connections here; FORCE would end them under it and its
        // 'error' event would fail whichever test this Jest worker runs next. Idle pooled connections close by
        // themselves after pg's idle timeout (10 s), so wait for that first, and say who they were.
        const lingering = await connectionsTo(client, name);
        if (lingering.length > 0) {
          process.stderr.write(`test database ${name}: connections still open at drop: ${lingering.join(', ')}\n`);
          for (let waited = 0; waited < 12_000 && (await connectionsTo(client, name)).length > 0; waited += 250) {
            await new Promise((resolve) => setTimeout(resolve, 250));
          }
        }
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

async function connectionsTo(client: pg.Client, database: string): Promise<string[]> {
  const { rows } = await client.query<{ who: string }>(
    `SELECT coalesce(nullif(application_name, ''), 'pid ' || pid) || ' (' || state || ', last query: ' ||
            left(regexp_replace(query, '\\s+', ' ', 'g'), 80) || ')' AS who
       FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
    [database],
  );
  return rows.map((row) => row.who);
}
