import pg from 'pg';
import { executionsProjection, SUMMARY_ROLLUPS_SINCE_VERSION } from '../projections/executions.projection.js';
import { advisoryLockKey, CHECKPOINTS_TABLE, RETENTION_TABLE } from '../read-model-migrations.js';
import { retentionCutoff } from './retention-window.js';

/** Rows deleted per table and statement: each batch is its own short transaction. */
export const DEFAULT_TRIM_BATCH_SIZE = 1000;

/** What the read models' retention deletes, per table (docs/read-models.md "Retention"). */
export const TRIMMED_TABLES = ['executions', 'reconciliation_verdicts', 'mismatches'] as const;
export type TrimmedTable = (typeof TRIMMED_TABLES)[number];

export interface TrimReadModelsOptions {
  /** The database owner's connection string (the read models' writer). */
  connectionString: string;
  /** Rows whose time is older than this many days are deleted; 0 (or none, without `cutoff`) keeps everything. */
  retentionDays?: number;
  /**
   * Cut here instead of `retentionDays` before now (an hour boundary): what a rebuild passes to trim back to the cut
   * retention had reached, whatever this process's configuration says.
   */
  cutoff?: Date;
  /** Wait for a trim running in another process to finish instead of skipping (`skipped: 'locked'`). */
  waitForLock?: boolean;
  /** The clock; default now. */
  now?: Date;
  batchSize?: number;
  applicationName?: string;
}

export type TrimSkipReason =
  /** `retentionDays` is 0. */
  | 'disabled'
  /** Another process holds the retention lock and is trimming. */
  | 'locked'
  /** The read models were never created here (no ledger has run the projections). */
  | 'no-read-models'
  /** The summary rollups do not hold the whole history yet (an upgrade before its rebuild): trimming would lose counts. */
  | 'rollups-not-built';

export interface TrimReport {
  /** False when nothing was tried; `skipped` says why. */
  ran: boolean;
  skipped?: TrimSkipReason;
  /** Rows older than this (an hour boundary) were deleted. */
  cutoff?: Date;
  /** Deleted rows per table. */
  trimmed: Record<TrimmedTable, number>;
  startedAt: Date;
  finishedAt: Date;
}

const EXECUTIONS = 'read_models.executions';
const VERDICTS = 'read_models.reconciliation_verdicts';
const MISMATCHES = 'read_models.mismatches';
const APPROVALS = 'read_models.approvals';

/**
 * One bounded batch per table: the statement deletes at most `$2` rows older than the cutoff `$1` and returns how
 * many. Rows locked by a projection's transaction are skipped (the next batch or run takes them), so a trim never
 * waits for the projections and they never wait long for it.
 *
 * - executions: by `started_at`; the reconciliation verdicts about them go in the same statement (a verdict is kept
 *   only for an execution that arrives after it, which a trimmed one never does again);
 * - mismatches: detected before the cutoff, about an execution (if any) that started before it, closed (reviewed or
 *   superseded: open ones are work still to do) and of an approval with no event since the cutoff.
 */
const BATCHES: readonly { table: TrimmedTable; sql: string }[] = [
  {
    table: 'executions',
    sql: `WITH doomed AS (
            SELECT execution_id FROM ${EXECUTIONS} WHERE started_at < $1
             ORDER BY started_at LIMIT $2 FOR UPDATE SKIP LOCKED
          ), gone AS (
            DELETE FROM ${EXECUTIONS} e USING doomed d WHERE e.execution_id = d.execution_id
            RETURNING e.stream_id, e.execution_id
          ), verdicts AS (
            DELETE FROM ${VERDICTS} v USING gone g WHERE v.stream_id = g.stream_id AND v.subject = g.execution_id
            RETURNING 1
          )
          SELECT (SELECT count(*) FROM gone)::int AS executions,
                 (SELECT count(*) FROM verdicts)::int AS reconciliation_verdicts`,
  },
  {
    table: 'mismatches',
    sql: `WITH doomed AS (
            SELECT m.mismatch_id FROM ${MISMATCHES} m
             WHERE m.detected_at < $1 AND (m.review_state <> 'open' OR m.superseded)
               AND NOT EXISTS (SELECT FROM ${EXECUTIONS} e WHERE e.execution_id = m.execution_id AND e.started_at >= $1)
               AND NOT EXISTS (SELECT FROM ${APPROVALS} a WHERE a.approval_id = m.approval_id AND a.last_event_at >= $1)
             ORDER BY m.detected_at LIMIT $2 FOR UPDATE OF m SKIP LOCKED
          ), gone AS (
            DELETE FROM ${MISMATCHES} m USING doomed d WHERE m.mismatch_id = d.mismatch_id RETURNING 1
          )
          SELECT (SELECT count(*) FROM gone)::int AS mismatches`,
  },
];

/**
 * Deletes the read models' detail rows older than the retention window (`docs/read-models.md`, "Retention"), in
 * bounded batches, in one process at a time (`pg_try_advisory_lock`: a second concurrent call returns `skipped:
 * 'locked'` and deletes nothing). First records the cutoff (`read_models.retention.trimmed_before`, never moved
 * back), from which on the summaries answer the trimmed period from the rollups alone; then deletes. Never touches
 * the event store, the summaries' aggregate tables or the projections' checkpoints.
 */
export async function trimReadModels(options: TrimReadModelsOptions): Promise<TrimReport> {
  const startedAt = new Date();
  const now = options.now ?? startedAt;
  const trimmed: Record<TrimmedTable, number> = { executions: 0, reconciliation_verdicts: 0, mismatches: 0 };
  const report = (extra: Partial<TrimReport>): TrimReport => ({
    ran: false,
    trimmed,
    startedAt,
    finishedAt: new Date(),
    ...extra,
  });
  const cutoff = options.cutoff ?? retentionCutoff(now, options.retentionDays ?? 0);
  if (!cutoff) return report({ skipped: 'disabled' });
  const batchSize = options.batchSize ?? DEFAULT_TRIM_BATCH_SIZE;
  const client = new pg.Client({
    connectionString: options.connectionString,
    application_name: options.applicationName ?? 'audit-ledger-retention',
  });
  await client.connect();
  const lockKey = advisoryLockKey('retention');
  const finish = async (done: TrimReport): Promise<TrimReport> => {
    await client.query(
      `INSERT INTO ${RETENTION_TABLE} (id, last_run_at, last_trimmed) VALUES (true, $1, $2)
       ON CONFLICT (id) DO UPDATE SET last_run_at = EXCLUDED.last_run_at, last_trimmed = EXCLUDED.last_trimmed`,
      [done.finishedAt, JSON.stringify(trimmed)],
    );
    return done;
  };
  let locked = false;
  try {
    const { rows: present } = await client.query<{ table: string | null }>(
      `SELECT to_regclass('${RETENTION_TABLE}')::text AS table`,
    );
    if (!present[0]?.table) return report({ skipped: 'no-read-models', cutoff });
    const { rows: lock } = await client.query<{ locked: boolean }>(
      options.waitForLock
        ? 'SELECT pg_advisory_lock($1::bigint) IS NOT NULL AS locked'
        : 'SELECT pg_try_advisory_lock($1::bigint) AS locked',
      [lockKey],
    );
    locked = lock[0]?.locked === true;
    if (!locked) return report({ skipped: 'locked', cutoff });
    const { rows: versions } = await client.query<{ version: number }>(
      `SELECT version FROM ${CHECKPOINTS_TABLE} WHERE name = $1`,
      [executionsProjection.name],
    );
    if (versions[0] && versions[0].version < SUMMARY_ROLLUPS_SINCE_VERSION) {
      return report({ skipped: 'rollups-not-built', cutoff });
    }
    // Bounded waits: a batch that cannot get a lock soon fails (transient) and the next run tries again.
    await client.query("SET lock_timeout = '5s'");
    // The cut changes how summaries read (rollups only before it): recorded only when there is something to trim
    const { rows: due } = await client.query<{ due: boolean }>(
      `SELECT EXISTS (SELECT FROM ${EXECUTIONS} WHERE started_at < $1)
           OR EXISTS (SELECT FROM ${MISMATCHES} WHERE detected_at < $1 AND (review_state <> 'open' OR superseded)) AS due`,
      [cutoff],
    );
    if (due[0]?.due !== true) return await finish(report({ ran: true, cutoff }));
    await client.query(
      `INSERT INTO ${RETENTION_TABLE} (id, trimmed_before) VALUES (true, $1)
       ON CONFLICT (id) DO UPDATE SET trimmed_before = greatest(${RETENTION_TABLE}.trimmed_before, EXCLUDED.trimmed_before)`,
      [cutoff],
    );
    for (const batch of BATCHES) {
      for (;;) {
        const { rows } = await client.query<Partial<Record<TrimmedTable, number>>>(batch.sql, [cutoff, batchSize]);
        const counts = rows[0] ?? {};
        for (const table of TRIMMED_TABLES) trimmed[table] += counts[table] ?? 0;
        if ((counts[batch.table] ?? 0) < batchSize) break;
      }
    }
    return await finish(report({ ran: true, cutoff }));
  } finally {
    if (locked) await client.query('SELECT pg_advisory_unlock($1::bigint)', [lockKey]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

/** What `read_models.retention` holds: the cut and the last run (any process's). */
export interface RetentionState {
  trimmedBefore: Date | null;
  lastRunAt: Date | null;
  lastTrimmed: Partial<Record<TrimmedTable, number>>;
}

export async function readRetentionState(client: pg.ClientBase | pg.Pool): Promise<RetentionState | undefined> {
  const { rows: present } = await client.query<{ table: string | null }>(
    `SELECT to_regclass('${RETENTION_TABLE}')::text AS table`,
  );
  if (!present[0]?.table) return undefined;
  const { rows } = await client.query<{
    trimmed_before: Date | null;
    last_run_at: Date | null;
    last_trimmed: Partial<Record<TrimmedTable, number>>;
  }>(`SELECT trimmed_before, last_run_at, last_trimmed FROM ${RETENTION_TABLE} WHERE id`);
  const row = rows[0];
  if (!row) return { trimmedBefore: null, lastRunAt: null, lastTrimmed: {} };
  return { trimmedBefore: row.trimmed_before, lastRunAt: row.last_run_at, lastTrimmed: row.last_trimmed };
}
