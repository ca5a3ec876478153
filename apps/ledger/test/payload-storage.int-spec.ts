import { MIGRATIONS, PostgresEventStore, runMigrations, type NewEvent } from '@audit-ledger/event-store';
import { canonicalJson } from '@audit-ledger/integrity';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { resolveIntegrityKeys, verifyLedger, type IntegrityKeys } from '@audit-ledger/evidence';

/**
 * Event payloads are stored as their canonical JSON text (event-store migration 2), which the verifier hashes as it
 * comes; events written before that migration are stored in jsonb's rendering and verified by canonicalising it.
 */
describe('event payloads stored as canonical text, across the migration from jsonb', () => {
  let database: TestDatabase;
  let admin: pg.Client;
  let dir: string;
  let keys: IntegrityKeys;

  beforeAll(async () => {
    database = await createTestDatabase();
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    dir = mkdtempSync(join(tmpdir(), 'ledger-payloads-'));
    keys = resolveIntegrityKeys({ dataDir: dir });
  });
  afterAll(async () => {
    await admin.end();
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  // Members out of RFC 8785 order, nesting, non-ASCII text, escapes and numbers jsonb renders its own way.
  const payload = (n: number): NewEvent => ({
    eventId: randomUUID(),
    type: 'Happened',
    data: { zeta: n, alpha: { b: [1.5, 1e21, -0, 'é\n"q"'], a: null }, 'ü-key': '\u2028', count: 10 },
    metadata: { actor: 'test', traceId: `t-${n}` },
  });
  const columnTypes = async () =>
    (
      await admin.query<{ column_name: string; data_type: string }>(
        `SELECT column_name, data_type FROM information_schema.columns
          WHERE table_schema = 'ledger' AND table_name = 'events' AND column_name IN ('data', 'metadata')
          ORDER BY column_name`,
      )
    ).rows.map((row) => `${row.column_name}:${row.data_type}`);
  const verify = () => verifyLedger({ databaseUrl: database.url, keys: keys.ring });

  it('given events written as jsonb, when migrated and appended to, then each is stored and verified', async () => {
    // given a ledger at migration 1 (jsonb payloads) holding events
    await runMigrations(database.url, { migrations: MIGRATIONS.filter((migration) => migration.version === 1) });
    expect(await columnTypes()).toEqual(['data:jsonb', 'metadata:jsonb']);
    const before = await PostgresEventStore.connect({ connectionString: database.url, migrate: false });
    const old = [payload(1), payload(2)];
    await before.appendToStream('payloads-old', old);
    await before.close();

    // when it is migrated and more events are appended
    const store = await PostgresEventStore.connect({ connectionString: database.url });
    try {
      expect(await columnTypes()).toEqual(['data:json', 'metadata:json']);
      const fresh = [payload(3), payload(4)];
      await store.appendToStream('payloads-new', fresh);
      await store.appendToStream('payloads-old', [payload(5)]);

      // then new events hold exactly their canonical text, and every event reads back as it was written
      const { rows } = await admin.query<{ stream_id: string; data: string; metadata: string }>(
        `SELECT stream_id, data::text AS data, metadata::text AS metadata FROM ledger.events
          WHERE stream_id = 'payloads-new' ORDER BY stream_revision`,
      );
      expect(rows.map((row) => [row.data, row.metadata])).toEqual(
        fresh.map((event) => [canonicalJson(event.data), canonicalJson(event.metadata)]),
      );
      const roundTrip = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;
      const read = await store.readStream('payloads-old');
      expect(read.slice(0, 2).map((event) => roundTrip(event.data))).toEqual(old.map((event) => roundTrip(event.data)));

      // and the verifier accepts old and new events alike
      const report = await verify();
      expect({ ok: report.ok, events: report.eventsChecked, problems: report.problems }).toEqual({
        ok: true,
        events: 5,
        problems: [],
      });
    } finally {
      await store.close();
    }
  });

  it('given an old and a new event edited by a superuser, when verified, then both are found edited', async () => {
    await admin.query('ALTER TABLE ledger.events DISABLE TRIGGER events_append_only');
    const edited = await admin.query<{ p: string }>(
      `UPDATE ledger.events SET data = jsonb_set(data::jsonb, '{count}', '11')
        WHERE (stream_id, stream_revision) IN (('payloads-old', 0), ('payloads-new', 1))
        RETURNING global_position::text AS p`,
    );
    await admin.query('ALTER TABLE ledger.events ENABLE ALWAYS TRIGGER events_append_only');
    const report = await verify();
    expect(report.problems.filter((problem) => problem.kind === 'edited').map((problem) => problem.position)).toEqual(
      edited.rows.map((row) => row.p).sort((a, b) => Number(a) - Number(b)),
    );
  });
});
