import pg from 'pg';
import { LEDGER_SCHEMA, MIGRATIONS_TABLE, OWNER_ROLE } from './ledger-schema.js';
import { silentLogger, type EventStoreLogger } from './logger.js';
import { HAND_OVER_TO_OWNER, MIGRATIONS, type Migration } from './migration-scripts.js';

export interface MigrationReport {
  /** Versions this call applied (empty when the database was up to date). */
  applied: number[];
  /** Versions recorded in the database after this call. */
  total: number;
}

/** Two-key advisory locks live apart from the one-key locks taken per stream by the writers. */
const MIGRATION_LOCK: [number, number] = [0x4c454447, 1];

/**
 * Brings the ledger schema up to date in one transaction, under an advisory lock, so that several processes starting
 * at once apply each migration exactly once. Needs the owner (or a superuser) connection, not the writer role.
 */
export async function runMigrations(
  connectionString: string,
  options: { logger?: EventStoreLogger; migrations?: readonly Migration[] } = {},
): Promise<MigrationReport> {
  const client = new pg.Client({ connectionString, application_name: 'audit-ledger-migrations' });
  await client.connect();
  try {
    return await migrate(client, options.migrations ?? MIGRATIONS, options.logger ?? silentLogger);
  } finally {
    await client.end();
  }
}

async function migrate(
  client: pg.Client,
  migrations: readonly Migration[],
  logger: EventStoreLogger,
): Promise<MigrationReport> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', MIGRATION_LOCK);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${LEDGER_SCHEMA}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
         version integer PRIMARY KEY,
         name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${MIGRATIONS_TABLE}`);
    const done = new Set(rows.map((row) => row.version));
    const applied: number[] = [];
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(migration.version)) continue;
      await client.query(migration.sql);
      await client.query(`INSERT INTO ${MIGRATIONS_TABLE} (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
      applied.push(migration.version);
    }
    // What the migrations just created belongs to ledger_owner (once it exists), like everything in the schema.
    if (applied.length > 0 && (await client.query('SELECT FROM pg_roles WHERE rolname = $1', [OWNER_ROLE])).rowCount) {
      await client.query(HAND_OVER_TO_OWNER);
    }
    const known = new Set(migrations.map((migration) => migration.version));
    const unknown = [...done].filter((version) => !known.has(version));
    if (unknown.length > 0) {
      logger.warn({ versions: unknown }, 'the database has ledger migrations this code does not know (newer release?)');
    }
    await client.query('COMMIT');
    return { applied, total: done.size + applied.length };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
