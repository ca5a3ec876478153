import { createHash } from 'node:crypto';
import type pg from 'pg';
import { type Projection, type ReadModelMigration } from './projection.js';

export const READ_MODELS_SCHEMA = 'read_models';
export const CHECKPOINTS_TABLE = 'read_models.projection_checkpoints';
export const READ_MODEL_MIGRATIONS_TABLE = 'read_models.migrations';
export const PARKED_EVENTS_TABLE = 'read_models.parked_events';
export const RETENTION_TABLE = 'read_models.retention';

/** The runner's own tables, applied before any projection's. */
export const RUNNER_MIGRATIONS: readonly ReadModelMigration[] = [
  {
    id: '001-checkpoints',
    sql: `
      CREATE TABLE read_models.projection_checkpoints (
        name text PRIMARY KEY,
        version integer NOT NULL,
        position bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now(),
        error text,
        error_position bigint,
        error_event_id uuid,
        error_event_type text,
        error_at timestamptz,
        failures integer NOT NULL DEFAULT 0
      );`,
  },
  {
    // Filled by the reconciliation projection (a later issue); created now so queries and docs can rely on it.
    id: '002-mismatches',
    sql: `
      CREATE TABLE read_models.mismatches (
        mismatch_id text PRIMARY KEY,
        approval_id text,
        execution_id text,
        kind text NOT NULL,
        severity text NOT NULL,
        explanation text NOT NULL,
        approved jsonb,
        executed jsonb,
        detected_at timestamptz NOT NULL,
        review_state text NOT NULL DEFAULT 'open',
        reviewer text,
        resolution text,
        review_note text,
        reviewed_at timestamptz,
        event_id uuid NOT NULL,
        global_position bigint NOT NULL
      );
      CREATE INDEX mismatches_approval_idx ON read_models.mismatches (approval_id);
      CREATE INDEX mismatches_execution_idx ON read_models.mismatches (execution_id);
      CREATE INDEX mismatches_kind_idx ON read_models.mismatches (kind, detected_at);`,
  },
  {
    // Events a projection deterministically cannot apply: set aside so it carries on (docs/read-models.md).
    id: '003-parked-events',
    sql: `
      CREATE TABLE read_models.parked_events (
        projection text NOT NULL,
        position bigint NOT NULL,
        event_id uuid NOT NULL,
        event_type text NOT NULL,
        error text NOT NULL,
        parked_at timestamptz NOT NULL DEFAULT now(),
        attempts integer NOT NULL DEFAULT 1,
        last_attempt_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (projection, position)
      );`,
  },
  {
    // Retention of the read models (src/retention/): how far detail rows were trimmed, and what the last run did.
    id: '004-retention',
    sql: `
      CREATE TABLE read_models.retention (
        id boolean PRIMARY KEY DEFAULT true CHECK (id),
        trimmed_before timestamptz,
        last_run_at timestamptz,
        last_trimmed jsonb NOT NULL DEFAULT '{}'
      );
      CREATE INDEX mismatches_detected_idx ON read_models.mismatches (detected_at);`,
  },
];

/** A stable 64-bit key for `pg_advisory_lock`, as a decimal string for a `::bigint` parameter. */
export function advisoryLockKey(name: string): string {
  return createHash('sha256').update(`audit-ledger:read_models:${name}`).digest().readBigInt64BE(0).toString();
}

export interface ReadModelMigrationReport {
  applied: string[];
}

/**
 * Creates schema `read_models` and applies the runner's and every projection's pending migrations in one
 * transaction, serialised across processes by an advisory lock. Runs as the database owner.
 */
export async function runReadModelMigrations(
  client: pg.ClientBase,
  projections: readonly Projection[],
): Promise<ReadModelMigrationReport> {
  const all = [
    ...RUNNER_MIGRATIONS.map((m) => ({ id: `runner/${m.id}`, sql: m.sql })),
    ...projections.flatMap((p) => p.migrations.map((m) => ({ id: `${p.name}/${m.id}`, sql: m.sql }))),
  ];
  const applied: string[] = [];
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [advisoryLockKey('migrations')]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${READ_MODELS_SCHEMA}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${READ_MODEL_MIGRATIONS_TABLE} (
         id text PRIMARY KEY,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await client.query<{ id: string }>(`SELECT id FROM ${READ_MODEL_MIGRATIONS_TABLE}`);
    const done = new Set(rows.map((r) => r.id));
    for (const migration of all) {
      if (done.has(migration.id)) continue;
      await client.query(migration.sql);
      await client.query(`INSERT INTO ${READ_MODEL_MIGRATIONS_TABLE} (id) VALUES ($1)`, [migration.id]);
      applied.push(migration.id);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  return { applied };
}
