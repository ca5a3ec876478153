import type pg from 'pg';
import { CHECKPOINTS_TABLE } from '../read-model-migrations.js';
import { SUMMARY_ROLLUPS, truncateTo } from '../projections/summary-rollup.js';
import type { ReadModelQueries } from './read-model-queries.js';

export type OverviewBucket = 'hour' | 'day';

export interface OverviewQuery {
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
  bucket: OverviewBucket;
}

export interface OverviewPoint {
  t: Date;
  executions: number;
  mismatches: number;
  unclear: number;
}

export interface ProjectionLag {
  projection: string;
  /** Global positions between what the projection has applied and the store's head (an upper bound). */
  lagEvents: number;
  /** Since the first event it has not applied was recorded; 0 when caught up. */
  lagMs: number;
}

export interface DashboardOverview {
  range: { from: Date; to: Date; bucket: OverviewBucket };
  series: OverviewPoint[];
  mismatchesByKind: { kind: string; count: number }[];
  mismatchesBySeverity: { severity: string; count: number }[];
  approvalsByStatus: { status: string; count: number }[];
  topWorkers: { workerId: string; count: number }[];
  topTools: { tool: string; count: number }[];
  topSessions: { sessionId: string; count: number }[];
  approvalTimeMs: { p50: number | null; p95: number | null; max: number | null; count: number };
  readModelLag: ProjectionLag[];
}

const TOP = 10;
const STEP_MS: Record<OverviewBucket, number> = { hour: 3_600_000, day: 86_400_000 };

/**
 * `GET /v1/dashboard/overview`: what the dashboard's first page shows for a time range, each part read where it is
 * cheapest so the whole answers in well under a second on a million executions (docs/benchmarks.md):
 * - executions per bucket from the summary rollups (`summaries`), unclear verdicts per bucket of their execution's
 *   start (a partial index holds only those), mismatches per bucket of their detection (current ones: not superseded);
 * - mismatches by kind and severity (detected in the range, current), approvals by status (created in the range);
 * - top workers and tools by executions, from the rollups of the bucket's grain (whole hours or days overlapping the
 *   range); top sessions by their actions, among the sessions active in the range (their whole history's count);
 * - how long humans took to approve the grants decided in the range (grants whose gateway sent `requestedAt`);
 * - each projection's lag behind the store's head.
 */
export async function dashboardOverview(
  pool: pg.Pool,
  queries: ReadModelQueries,
  query: OverviewQuery,
  now: Date = new Date(),
): Promise<DashboardOverview> {
  const { from, to, bucket } = query;
  const range = [from, to];
  const [executions, unclear, mismatches, byKind, bySeverity, byStatus, workers, tools, sessions, approvalTime, lag] =
    await Promise.all([
      queries.summaries({ groupBy: [], bucket, from, to }),
      countsPerBucket(
        pool,
        `SELECT date_trunc($3, started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS t, count(*)::integer AS count
         FROM read_models.executions
        WHERE reconciliation_verdict = 'unclear' AND started_at >= $1 AND started_at < $2 GROUP BY 1`,
        [...range, bucket],
      ),
      countsPerBucket(
        pool,
        `SELECT date_trunc($3, detected_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS t, count(*)::integer AS count
         FROM read_models.mismatches
        WHERE NOT superseded AND detected_at >= $1 AND detected_at < $2 GROUP BY 1`,
        [...range, bucket],
      ),
      pool.query<{ kind: string; count: number }>(
        `SELECT kind, count(*)::integer AS count FROM read_models.mismatches
        WHERE NOT superseded AND detected_at >= $1 AND detected_at < $2 GROUP BY kind ORDER BY count DESC, kind`,
        range,
      ),
      pool.query<{ severity: string; count: number }>(
        `SELECT severity, count(*)::integer AS count FROM read_models.mismatches
        WHERE NOT superseded AND detected_at >= $1 AND detected_at < $2 GROUP BY severity ORDER BY count DESC, severity`,
        range,
      ),
      pool.query<{ status: string; count: number }>(
        `SELECT status, count(*)::integer AS count FROM read_models.approvals
        WHERE created_at >= $1 AND created_at < $2 GROUP BY status ORDER BY count DESC, status`,
        range,
      ),
      topOfRollups(pool, 'worker', query),
      topOfRollups(pool, 'toolName', query),
      pool.query<{ session_id: string; count: number }>(
        `SELECT session_id, total_actions AS count FROM read_models.session_summaries
        WHERE last_action_at >= $1 AND first_action_at < $2 ORDER BY total_actions DESC, session_id LIMIT ${TOP}`,
        range,
      ),
      pool.query<{ p50: number | null; p95: number | null; max: string | null; count: number }>(
        `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY approval_time_ms) AS p50,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY approval_time_ms) AS p95,
              max(approval_time_ms)::text AS max, count(*)::integer AS count
         FROM read_models.approvals
        WHERE approval_time_ms IS NOT NULL AND granted_occurred_at >= $1 AND granted_occurred_at < $2`,
        range,
      ),
      readModelLag(pool, queries, now),
    ]);
  const series = bucketsOf(query).map((t) => ({ t, executions: 0, mismatches: 0, unclear: 0 }));
  const at = new Map(series.map((point) => [point.t.getTime(), point]));
  for (const item of executions.items) {
    const point = at.get(item.bucket.getTime());
    if (point) point.executions += item.executions;
  }
  for (const [t, count] of unclear) {
    const point = at.get(t);
    if (point) point.unclear += count;
  }
  for (const [t, count] of mismatches) {
    const point = at.get(t);
    if (point) point.mismatches += count;
  }
  const timing = approvalTime.rows[0];
  const round = (value: number | null | undefined) =>
    value === null || value === undefined ? null : Math.round(value);
  return {
    range: { from, to, bucket },
    series,
    mismatchesByKind: byKind.rows,
    mismatchesBySeverity: bySeverity.rows,
    approvalsByStatus: byStatus.rows,
    topWorkers: workers.map(({ value, count }) => ({ workerId: value, count })),
    topTools: tools.map(({ value, count }) => ({ tool: value, count })),
    topSessions: sessions.rows.map((row) => ({ sessionId: row.session_id, count: row.count })),
    approvalTimeMs: {
      p50: round(timing?.p50),
      p95: round(timing?.p95),
      max: timing?.max === null || timing?.max === undefined ? null : Number(timing.max),
      count: timing?.count ?? 0,
    },
    readModelLag: lag,
  };
}

/** The bucket starts (UTC) from the one holding `from` up to `to` (exclusive). */
export function bucketsOf({ from, to, bucket }: OverviewQuery): Date[] {
  const starts: Date[] = [];
  for (let t = Date.parse(truncateTo(bucket, from)); t < to.getTime(); t += STEP_MS[bucket]) starts.push(new Date(t));
  return starts;
}

async function countsPerBucket(pool: pg.Pool, sql: string, params: unknown[]): Promise<Map<number, number>> {
  const { rows } = await pool.query<{ t: Date; count: number }>(sql, params);
  return new Map(rows.map((row) => [row.t.getTime(), row.count]));
}

/** The dimension's values with the most executions in the rollup rows (of the bucket's grain) overlapping the range. */
async function topOfRollups(
  pool: pg.Pool,
  dimension: 'worker' | 'toolName',
  { from, to, bucket }: OverviewQuery,
): Promise<{ value: string; count: number }[]> {
  const { rows } = await pool.query<{ value: string; count: string }>(
    `SELECT value, sum(executions)::text AS count FROM ${SUMMARY_ROLLUPS}
      WHERE grain = $1 AND dimension = $2 AND bucket >= $3 AND bucket < $4
      GROUP BY value HAVING sum(executions) > 0 ORDER BY sum(executions) DESC, value LIMIT ${TOP}`,
    [bucket, dimension, truncateTo(bucket, from), to],
  );
  return rows.map((row) => ({ value: row.value, count: Number(row.count) }));
}

/** Each projection with a checkpoint: how far behind the store's head it is (`readPosition`, per projection). */
async function readModelLag(pool: pg.Pool, queries: ReadModelQueries, now: Date): Promise<ProjectionLag[]> {
  const { rows } = await pool.query<{ name: string }>(`SELECT name FROM ${CHECKPOINTS_TABLE} ORDER BY name`);
  return Promise.all(
    rows.map(async ({ name }) => {
      const { position, head } = await queries.readPosition([name]);
      if (position >= head) return { projection: name, lagEvents: 0, lagMs: 0 };
      const { rows: next } = await pool.query<{ recorded_at: Date }>(
        'SELECT recorded_at FROM ledger.events WHERE global_position > $1 ORDER BY global_position LIMIT 1',
        [position.toString()],
      );
      const since = next[0]?.recorded_at.getTime() ?? now.getTime();
      return { projection: name, lagEvents: Number(head - position), lagMs: Math.max(0, now.getTime() - since) };
    }),
  );
}
