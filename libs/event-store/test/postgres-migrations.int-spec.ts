import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { runMigrations } from '../src/postgres/migrations.js';
import { MIGRATIONS } from '../src/postgres/migration-scripts.js';
import { PostgresEventStore } from '../src/postgres/postgres-event-store.js';
import { newEvent, rawClient } from './postgres-test-support.js';

describe('ledger migrations', () => {
  const databases: TestDatabase[] = [];

  async function freshDatabase(): Promise<TestDatabase> {
    const db = await createTestDatabase();
    databases.push(db);
    return db;
  }

  afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
  });

  it('applies every migration once and records it', async () => {
    // given an empty database, when migrated twice, then the second run applies nothing
    const db = await freshDatabase();
    const all = MIGRATIONS.map((migration) => migration.version);
    expect(await runMigrations(db.url)).toEqual({ applied: all, total: all.length });
    expect(await runMigrations(db.url)).toEqual({ applied: [], total: all.length });
    const client = await rawClient(db.url);
    try {
      const { rows } = await client.query<{ version: number }>('SELECT version FROM ledger.ledger_migrations');
      expect(rows.map((row) => row.version)).toEqual(all);
    } finally {
      await client.end();
    }
  });

  it('is safe when several processes start at once', async () => {
    // given an empty database, when four processes migrate at the same moment
    const db = await freshDatabase();
    const reports = await Promise.all([1, 2, 3, 4].map(() => runMigrations(db.url)));
    // then exactly one applied each migration and all see the same result
    expect(reports.filter((report) => report.applied.length > 0)).toHaveLength(1);
    expect(new Set(reports.map((report) => report.total))).toEqual(new Set([MIGRATIONS.length]));
  });

  it('is safe when several databases of one server migrate at once (the writer role is server-wide)', async () => {
    const dbs = await Promise.all([1, 2, 3].map(() => freshDatabase()));
    await expect(Promise.all(dbs.map((db) => runMigrations(db.url)))).resolves.toHaveLength(3);
  });

  it('lets two stores connect to a new database at once and both append', async () => {
    const db = await freshDatabase();
    const [a, b] = await Promise.all([1, 2].map(() => PostgresEventStore.connect({ connectionString: db.url })));
    try {
      await a!.appendToStream('both-1', [newEvent()], { expectedRevision: 'no_stream' });
      const second = await b!.appendToStream('both-1', [newEvent()], { expectedRevision: 0 });
      expect(second.nextExpectedRevision).toBe(1);
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });

  it('reports health for /health', async () => {
    // given a connected store with one live subscription
    const db = await freshDatabase();
    const store = await PostgresEventStore.connect({ connectionString: db.url });
    try {
      const subscription = store.subscribeToAll();
      // then the database answers, the migrations are counted and the subscription is alive
      expect(await store.health()).toEqual({
        database: true,
        migrationsApplied: MIGRATIONS.length,
        subscriptionsAlive: 1,
        pendingAppends: 0,
      });
      await subscription.close();
      expect((await store.health()).subscriptionsAlive).toBe(0);
    } finally {
      await store.close();
    }
    // and after close the database is reported unreachable instead of throwing
    expect((await store.health()).database).toBe(false);
  });
});
