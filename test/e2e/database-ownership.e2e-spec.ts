import { MIGRATIONS, runMigrations } from '@audit-ledger/event-store';
import { type RunningLedger } from '@audit-ledger/ledger';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startTestLedger } from '../support/ledger-app.js';
import { adminUrl, createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { allRolesHeaders } from '../support/test-credentials.js';

/**
 * Issue 10, finding 5: ownership the ledger's login cannot undo. The schema and table belong to the NOLOGIN role
 * ledger_owner; the runtime login (a member of ledger_writer only) can neither switch append-only off nor become the
 * owner; a non-superuser member of ledger_owner is stopped by the event trigger; a superuser can still do anything
 * (the case docs/operations.md describes, which only checkpoints and the witness detect).
 */
const loginUrl = (database: TestDatabase, login: string, password: string) => {
  const url = new URL(database.url);
  url.username = login;
  url.password = password;
  return url.toString();
};

async function asLogin<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Every statement fails, each in a transaction of its own; returns the SQLSTATEs. */
async function refusals(url: string, statements: string[]): Promise<Record<string, string | undefined>> {
  return asLogin(url, async (client) => {
    const codes: Record<string, string | undefined> = {};
    for (const statement of statements) {
      await client.query('BEGIN');
      try {
        await client.query(statement);
        codes[statement] = 'ACCEPTED';
      } catch (error) {
        codes[statement] = (error as { code?: string }).code;
      } finally {
        await client.query('ROLLBACK');
      }
    }
    return codes;
  });
}

const TAMPERING = [
  'ALTER TABLE ledger.events DISABLE TRIGGER events_append_only',
  'ALTER TABLE ledger.events DISABLE TRIGGER ALL',
  'DROP TRIGGER events_append_only ON ledger.events',
  'DROP TABLE ledger.events',
  'DROP SCHEMA ledger CASCADE',
  // Since migration 5 the constraint is the first partition's (the one that can hold rows below position 1).
  'ALTER TABLE ledger.events_p000001 DROP CONSTRAINT events_global_position_from_1',
  'ALTER FUNCTION ledger.reject_event_change() RENAME TO harmless',
  `CREATE OR REPLACE FUNCTION ledger.reject_event_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`,
  'UPDATE ledger.events SET type = type',
  'DELETE FROM ledger.events',
  'TRUNCATE ledger.events',
];

describe('ownership the ledger login cannot undo', () => {
  let database: TestDatabase;
  let superuser: pg.Pool;
  let ledger: RunningLedger | undefined;
  const suffix = randomBytes(4).toString('hex');
  const runtime = { login: `ledger_rt_${suffix}`, password: randomBytes(12).toString('hex') };
  const member = { login: `ledger_om_${suffix}`, password: randomBytes(12).toString('hex') };
  const sql = async <R extends pg.QueryResultRow>(text: string, values?: unknown[]) =>
    (await superuser.query<R>(text, values)).rows;

  beforeAll(async () => {
    database = await createTestDatabase();
    superuser = new pg.Pool({ connectionString: database.url, max: 2 });
    superuser.on('error', () => undefined);
  });

  afterAll(async () => {
    await ledger?.close();
    await superuser?.end();
    await database?.drop();
    const admin = new pg.Client({ connectionString: adminUrl() });
    await admin.connect();
    for (const login of [runtime.login, member.login]) {
      await admin.query(`DROP OWNED BY ${login}`).catch(() => undefined);
      await admin.query(`DROP ROLE IF EXISTS ${login}`);
    }
    await admin.end();
  });

  it('upgrades a database created by the released migrations, its events intact', async () => {
    // Given a database created by the migrations released before this change, holding events.
    await runMigrations(database.url, { migrations: MIGRATIONS.filter((migration) => migration.version <= 2) });
    ledger = await startTestLedger(database.url, { reconciliationEnabled: false, checkpointsEnabled: false });
    // (startLedger applied the new migrations too; go back to the released ones' ownership to upgrade it for real.)
    await ledger.close();
    ledger = undefined;
    await sql('DROP EVENT TRIGGER IF EXISTS ledger_refuse_ddl');
    await sql('DROP EVENT TRIGGER IF EXISTS ledger_refuse_drop');
    await sql('DROP SCHEMA IF EXISTS ledger_guard CASCADE');
    await sql('ALTER SCHEMA ledger OWNER TO CURRENT_USER');
    await sql('ALTER TABLE ledger.events OWNER TO CURRENT_USER');
    await sql('ALTER TABLE ledger.ledger_migrations OWNER TO CURRENT_USER');
    // (Migration 5's partitioning cannot be undone here: it stays; its own upgrade test is postgres-partitions.)
    await sql('DELETE FROM ledger.ledger_migrations WHERE version = 4');
    const before = await sql<{ n: string }>('SELECT count(*)::text AS n FROM ledger.events');

    // When the ledger migrates it.
    await runMigrations(database.url);

    // Then everything in schema ledger belongs to ledger_owner, the guard is in place, and the events are intact.
    expect(
      await sql(
        `SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relnamespace = 'ledger'::regnamespace`,
      ),
    ).toEqual([{ owner: 'ledger_owner' }]);
    expect(await sql(`SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = 'ledger'`)).toEqual([
      { owner: 'ledger_owner' },
    ]);
    expect(
      (await sql<{ evtname: string }>(`SELECT evtname FROM pg_event_trigger ORDER BY 1`)).map((row) => row.evtname),
    ).toEqual(['ledger_refuse_ddl', 'ledger_refuse_drop']);
    expect(await sql('SELECT count(*)::text AS n FROM ledger.events')).toEqual(before);

    // And what a later migration creates goes to ledger_owner too, without the migration saying so.
    await runMigrations(database.url, {
      migrations: [...MIGRATIONS, { version: 9999, name: 'a later one', sql: 'CREATE TABLE ledger.later (x int)' }],
    });
    expect(
      await sql(`SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE oid = 'ledger.later'::regclass`),
    ).toEqual([{ owner: 'ledger_owner' }]);
    await sql('DROP TABLE ledger.later');
    await sql('DELETE FROM ledger.ledger_migrations WHERE version = 9999');
  });

  it('runs the ledger as a login that is a member of ledger_writer only, which cannot switch append-only off', async () => {
    // Given a runtime login that is a member of ledger_writer only, and the migrations run by the superuser.
    await sql(`CREATE ROLE ${runtime.login} LOGIN PASSWORD '${runtime.password}' IN ROLE ledger_writer`);
    await sql(`GRANT CREATE ON DATABASE ${database.name} TO ${runtime.login}`);
    const runtimeUrl = loginUrl(database, runtime.login, runtime.password);
    ledger = await startTestLedger(runtimeUrl, {
      migrationDatabaseUrl: database.url,
      reconciliationEnabled: false,
    });
    const post = async (path: string, body: unknown) =>
      fetch(`http://127.0.0.1:${ledger!.httpPort}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(await allRolesHeaders(ledger!)) },
        body: JSON.stringify(body),
      });
    const approval = anApproval();
    const execution = anExecution({ approvalId: approval.approvalId });
    expect((await post('/v1/approvals', approval)).status).toBe(201);
    expect((await post('/v1/executions', execution)).status).toBe(201);
    for (let i = 0; i < 200; i++) {
      const found = await fetch(`http://127.0.0.1:${ledger.httpPort}/v1/executions/${execution.executionId}`, {
        headers: await allRolesHeaders(ledger),
      });
      if (found.status === 200) break;
      await sleep(50);
    }
    const ledgerSessions = await sql<{ usename: string }>(
      `SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'audit-ledger%'`,
      [database.name],
    );
    expect(ledgerSessions).toEqual([{ usename: runtime.login }]);

    // When the runtime login tries to change the ledger's objects or history, as itself and as ledger_writer.
    const asItself = await refusals(runtimeUrl, [...TAMPERING, `ALTER TABLE ledger.events OWNER TO ${runtime.login}`]);
    const asWriter = await refusals(
      runtimeUrl,
      TAMPERING.map((statement) => `SET LOCAL ROLE ledger_writer; ${statement}`),
    );
    const becomeOwner = await refusals(runtimeUrl, ['SET ROLE ledger_owner', 'GRANT ledger_owner TO CURRENT_USER']);

    // Then every attempt fails: not the owner (42501), append-only (LA001), no membership (42501).
    for (const codes of [asItself, asWriter, becomeOwner]) {
      expect(Object.entries(codes).filter(([, code]) => code === 'ACCEPTED')).toEqual([]);
      for (const code of Object.values(codes)) expect(['42501', 'LA001']).toContain(code);
    }
    // And the ledger still appends.
    expect((await post('/v1/executions', anExecution({ approvalId: approval.approvalId }))).status).toBe(201);
  });

  it('refuses DDL on the ledger objects to a non-superuser member of ledger_owner (the event trigger)', async () => {
    await sql(`CREATE ROLE ${member.login} LOGIN PASSWORD '${member.password}' IN ROLE ledger_owner`);
    const codes = await refusals(loginUrl(database, member.login, member.password), [
      ...TAMPERING.slice(0, 8),
      `ALTER TABLE ledger.events OWNER TO ${member.login}`,
      'SET LOCAL ROLE ledger_owner; ALTER TABLE ledger.events DISABLE TRIGGER events_append_only',
      'DROP EVENT TRIGGER ledger_refuse_ddl',
      'DROP FUNCTION ledger_guard.refuse_ledger_ddl() CASCADE',
    ]);
    expect(Object.entries(codes).filter(([, code]) => code === 'ACCEPTED')).toEqual([]);
    for (const code of Object.values(codes)) expect(['LA002', '42501']).toContain(code);
    expect(codes['ALTER TABLE ledger.events DISABLE TRIGGER events_append_only']).toBe('LA002');
    expect(codes['DROP TABLE ledger.events']).toBe('LA002');
  });

  it('migrates with a non-superuser CREATEROLE login that owns the database (no event trigger then)', async () => {
    const admin = { login: `ledger_adm_${suffix}`, password: randomBytes(12).toString('hex') };
    const owned = `ledger_test_owned_${suffix}`;
    const cluster = new pg.Client({ connectionString: adminUrl() });
    await cluster.connect();
    try {
      await cluster.query(`CREATE ROLE ${admin.login} LOGIN CREATEROLE PASSWORD '${admin.password}'`);
      await cluster.query(`CREATE DATABASE ${owned} OWNER ${admin.login}`);
      // The roles are server-wide and exist already (other ledgers of this server): an operator grants them once.
      await cluster.query(`GRANT ledger_writer, ledger_owner TO ${admin.login}`);
      const url = new URL(adminUrl());
      url.username = admin.login;
      url.password = admin.password;
      url.pathname = `/${owned}`;
      await runMigrations(url.toString());
      await runMigrations(url.toString()); // and again: nothing left to apply, nothing fails
      const check = new pg.Client({ connectionString: url.toString() });
      await check.connect();
      try {
        const owners = await check.query(
          `SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relnamespace = 'ledger'::regnamespace`,
        );
        expect(owners.rows).toEqual([{ owner: 'ledger_owner' }]);
        expect((await check.query('SELECT count(*)::int AS n FROM ledger.ledger_migrations')).rows).toEqual([
          { n: MIGRATIONS.length },
        ]);
      } finally {
        await check.end();
      }
    } finally {
      await cluster.query(`DROP DATABASE IF EXISTS ${owned} WITH (FORCE)`);
      await cluster.query(`DROP OWNED BY ${admin.login}`).catch(() => undefined);
      await cluster.query(`DROP ROLE IF EXISTS ${admin.login}`);
      await cluster.end();
    }
  });

  it('cannot stop a superuser (documented: only checkpoints and the witness detect it)', async () => {
    const codes = await refusals(database.url, [
      'ALTER TABLE ledger.events DISABLE TRIGGER events_append_only; UPDATE ledger.events SET type = type',
    ]);
    expect(Object.values(codes)).toEqual(['ACCEPTED']);
  });
});
