import type pg from 'pg';
import { EXECUTION_RISK_LEVELS } from '../projections/executions.projection.js';
import {
  DURATION_THRESHOLDS_SQL,
  ROLLUP_DIMENSIONS,
  ROLLUP_GRAINS,
  SUMMARY_ROLLUPS,
  truncateTo,
  type RollupDimension,
  type RollupGrain,
} from '../projections/summary-rollup.js';
import {
  addHistogram,
  denseHistogram,
  histogramPercentile,
  type DurationHistogram,
} from '../summaries/duration-histogram.js';
import type { SummaryDimension, SummaryItem, SummaryQuery } from './summary-query.js';
import { Where } from './where.js';

const MISMATCH_LOOKUP = 'read_models.executions_mismatch_lookup';

/** Which rollup rows answer a query: one dimension's, maybe one value of it; and whether items are grouped by it. */
interface RollupPlan {
  dimension: RollupDimension;
  value?: string;
  grouped: boolean;
}

const FILTERS = { worker: 'workerId', riskLevel: 'riskLevel', toolName: 'toolName' } as const;

/**
 * The rollup answers a query that groups by at most one of worker, risk level or tool and filters on at most that
 * same dimension (or, ungrouped, on at most one of them), with no session: every execution and current mismatch is
 * in exactly one rollup row of each dimension. Anything else takes the exact path.
 */
function planOf(query: SummaryQuery, dimensions: SummaryDimension[]): RollupPlan | undefined {
  if (query.sessionId !== undefined || dimensions.length > 1) return undefined;
  const filtered = (Object.keys(FILTERS) as RollupDimension[]).filter((d) => query[FILTERS[d]] !== undefined);
  const grouped = dimensions[0];
  if (grouped !== undefined) {
    if (grouped === 'session' || filtered.some((d) => d !== grouped)) return undefined;
    return { dimension: grouped, value: query[FILTERS[grouped]], grouped: true };
  }
  if (filtered.length > 1) return undefined;
  const dimension = filtered[0] ?? 'riskLevel'; // the fewest values: at most one row per risk level and bucket
  return { dimension, value: query[FILTERS[dimension]], grouped: false };
}

interface Group {
  bucket: Date;
  value: string;
  executions: number;
  successes: number;
  failures: number;
  totalDurationMs: number;
  /** The rows' histograms, merged only for the p95 (most groups have one row). */
  histograms: DurationHistogram[];
  mismatchesByKind: Record<string, number>;
}

/**
 * `ReadModelQueries.summaries` from `read_models.summary_rollups` (the rows of the bucket's grain; the whole days and
 * hours of a partial week or day at either end of the range from day and hour rows), with the parts of the range
 * that do not cover a whole hour read from `executions` and the executions projection's mismatch lookup: counts are exact for any `from` / `to`, the p95 is read from merged
 * duration histograms. Undefined when the rollup cannot answer the query (see `planOf`).
 */
export async function rollupSummaries(
  pool: pg.Pool,
  query: SummaryQuery,
  dimensions: SummaryDimension[],
  maxRows: number,
): Promise<{ truncated: boolean; items: SummaryItem[] } | undefined> {
  const plan = planOf(query, dimensions);
  if (!plan) return undefined;
  const grains = ROLLUP_GRAINS.slice(ROLLUP_GRAINS.indexOf(query.bucket));
  const { middle, edges } = split(grains[0]!, query);
  const rowsPerGroup = plan.grouped || plan.value !== undefined ? 1 : EXECUTION_RISK_LEVELS.length;
  const rowLimit = (maxRows + 1) * rowsPerGroup;
  // A partial unit at either end: its whole units of the next finer grain from their rows, and so on; what is left
  // of an hour, from the executions.
  const reads: Promise<Row[]>[] = [];
  const readEdge = (range: { from: Date; to: Date }, finer: readonly RollupGrain[]): void => {
    const [grain, ...rest] = finer;
    if (!grain) {
      reads.push(edgeRowsOf(pool, query, plan, range));
      return;
    }
    const inner = split(grain, range);
    if (inner.middle) reads.push(rollupRowsOf(pool, query, plan, grain, inner.middle));
    for (const edge of inner.edges) readEdge(edge, rest);
  };
  for (const edge of edges) readEdge(edge, grains.slice(1));
  const [rollupRows, ...edgeRows] = await Promise.all([
    middle ? rollupRowsOf(pool, query, plan, grains[0]!, middle, rowLimit) : Promise.resolve([]),
    ...reads,
  ]);
  const groups = new Map<string, Group>();
  const groupOf = (bucket: Date, value: string): Group => {
    const key = `${bucket.getTime()} ${value}`;
    let group = groups.get(key);
    if (!group) {
      group = {
        bucket,
        value,
        executions: 0,
        successes: 0,
        failures: 0,
        totalDurationMs: 0,
        histograms: [],
        mismatchesByKind: {},
      };
      groups.set(key, group);
    }
    return group;
  };
  for (const row of rollupRows.concat(...edgeRows)) {
    const group = groupOf(row.bucket, plan.grouped ? row.value : '');
    group.executions += row.executions;
    group.successes += row.successes;
    group.failures += row.failures;
    group.totalDurationMs += Number(row.total_duration_ms);
    group.histograms.push(row.duration_histogram);
    for (const kind in row.mismatches_by_kind) {
      group.mismatchesByKind[kind] = (group.mismatchesByKind[kind] ?? 0) + row.mismatches_by_kind[kind]!;
    }
  }
  // Grouped (or one value): one row per group of the bucket's grain, read in the order items are sorted in, so a group
  // not read for the limit sorts after `maxRows` that were and the caller's sort and cut leave out the groups the
  // exact path would. Ungrouped: up to one row per risk level per group, so the last bucket read may be incomplete;
  // it is left out.
  const truncated = rollupRows.length === rowLimit;
  const cutoff = truncated && rowsPerGroup > 1 ? rollupRows.at(-1)!.bucket.getTime() : undefined;
  const items: SummaryItem[] = [];
  const merged = denseHistogram();
  const p95Of = (histograms: DurationHistogram[]): number | null => {
    if (histograms.length === 1) return histogramPercentile(histograms[0]!, 0.95);
    for (const histogram of histograms) addHistogram(merged, histogram);
    const p95 = histogramPercentile(merged, 0.95);
    merged.fill(0);
    return p95;
  };
  for (const group of groups.values()) {
    if (cutoff !== undefined && group.bucket.getTime() >= cutoff) continue;
    const mismatchesByKind = Object.fromEntries(Object.entries(group.mismatchesByKind).filter(([, n]) => n !== 0));
    if (group.executions === 0 && Object.keys(mismatchesByKind).length === 0) continue;
    items.push({
      bucket: group.bucket,
      ...(plan.grouped ? { [plan.dimension]: group.value } : {}),
      executions: group.executions,
      successes: group.successes,
      failures: group.failures,
      totalDurationMs: group.totalDurationMs,
      p95DurationMs: p95Of(group.histograms),
      mismatchesByKind,
    });
  }
  return { truncated: truncated || items.length > maxRows, items };
}

interface Row {
  bucket: Date;
  value: string;
  executions: number;
  successes: number;
  failures: number;
  total_duration_ms: string | number;
  duration_histogram: DurationHistogram;
  mismatches_by_kind: Record<string, number>;
}

/**
 * `[from, to)` (either open) as the whole grain units in it (`middle`, open where the range is) and the parts of a
 * unit at either end (`edges`).
 */
function split(
  grain: RollupGrain,
  range: { from?: Date; to?: Date },
): { middle?: { from?: Date; to?: Date }; edges: { from: Date; to: Date }[] } {
  const start = range.from && ceilTo(grain, range.from);
  const end = range.to && new Date(truncateTo(grain, range.to));
  if (range.from && range.to && start && end && start >= end) {
    return { edges: range.from < range.to ? [{ from: range.from, to: range.to }] : [] };
  }
  const edges: { from: Date; to: Date }[] = [];
  if (range.from && start && range.from < start) edges.push({ from: range.from, to: start });
  if (range.to && end && end < range.to) edges.push({ from: end, to: range.to });
  return { middle: { from: start, to: end }, edges };
}

function ceilTo(grain: RollupGrain, at: Date): Date {
  const floor = new Date(truncateTo(grain, at));
  if (floor.getTime() === at.getTime()) return floor;
  return new Date(floor.getTime() + { hour: 3_600_000, day: 86_400_000, week: 7 * 86_400_000 }[grain]);
}

async function rollupRowsOf(
  pool: pg.Pool,
  query: SummaryQuery,
  plan: RollupPlan,
  grain: RollupGrain,
  range: { from?: Date; to?: Date },
  limit?: number,
): Promise<Row[]> {
  const where = new Where();
  where.add(`r.grain = ${where.param(grain)}`).add(`r.dimension = ${where.param(plan.dimension)}`);
  where
    .when(range.from, (p) => `r.bucket >= ${p}`)
    .when(range.to, (p) => `r.bucket < ${p}`)
    .when(plan.value, (p) => `r.value = ${p}`);
  const bucket = where.param(query.bucket);
  const { rows } = await pool.query<Omit<Row, 'bucket'> & { bucket: number }>(
    `SELECT ${epochMs(`date_trunc(${bucket}, r.bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`)} AS bucket, r.value, r.executions,
            r.successes, r.failures, r.total_duration_ms, r.duration_histogram, r.mismatches_by_kind
       FROM ${SUMMARY_ROLLUPS} r ${where.sql()}
      ORDER BY r.bucket, r.value COLLATE "C"
      ${limit === undefined ? '' : `LIMIT ${limit}`}`,
    where.params,
  );
  for (const row of rows) (row as unknown as Row).bucket = new Date(row.bucket);
  return rows as unknown as Row[];
}

/** A timestamptz as epoch milliseconds (float8): cheaper for the driver to read than a timestamp's text. */
const epochMs = (sql: string): string => `(extract(epoch FROM ${sql}) * 1000)::float8`;

/** The same rows as the rollup's, computed from `executions` and the mismatch lookup for a part of an hour or day. */
async function edgeRowsOf(
  pool: pg.Pool,
  query: SummaryQuery,
  plan: RollupPlan,
  range: { from: Date; to: Date },
): Promise<Row[]> {
  const column = ROLLUP_DIMENSIONS[plan.dimension];
  // an execution counts under the assessed risk of its command (as the rollups do); the mismatch lookup keeps it
  const executionColumn = plan.dimension === 'riskLevel' ? 'coalesce(assessed_risk, risk_level)' : column;
  const where = new Where()
    .when(range.from, (p) => `$time >= ${p}`)
    .when(range.to, (p) => `$time < ${p}`)
    .when(plan.value, (p) => `$column = ${p}`);
  const bucket = where.param(query.bucket);
  const [executions, mismatches] = await Promise.all([
    pool.query<{
      bucket: Date;
      value: string;
      executions: number;
      successes: number;
      failures: number;
      total_duration_ms: string;
      histogram_bucket: number;
    }>(
      `SELECT (date_trunc(${bucket}, started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS bucket, ${executionColumn} AS value,
              count(*)::integer AS executions, (count(*) FILTER (WHERE exit_code = 0))::integer AS successes,
              (count(*) FILTER (WHERE exit_code IS DISTINCT FROM 0))::integer AS failures,
              sum(duration_ms)::bigint AS total_duration_ms,
              width_bucket(duration_ms, ${DURATION_THRESHOLDS_SQL}) AS histogram_bucket
         FROM read_models.executions ${where.sql().replaceAll('$time', 'started_at').replaceAll('$column', executionColumn)}
        GROUP BY 1, 2, 7`,
      where.params,
    ),
    pool.query<{ bucket: Date; value: string; kind: string; count: number }>(
      `SELECT (date_trunc(${bucket}, at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS bucket, ${column} AS value, kind,
              count(*)::integer AS count
         FROM ${MISMATCH_LOOKUP} ${where.add('current').sql().replaceAll('$time', 'at').replaceAll('$column', column)}
        GROUP BY 1, 2, 3`,
      where.params,
    ),
  ]);
  const none = { executions: 0, successes: 0, failures: 0, total_duration_ms: 0 };
  return [
    ...executions.rows.map((row) => ({
      ...row,
      duration_histogram: { [String(row.histogram_bucket)]: row.executions },
      mismatches_by_kind: {},
    })),
    ...mismatches.rows.map((row) => ({
      bucket: row.bucket,
      value: row.value,
      ...none,
      duration_histogram: {},
      mismatches_by_kind: { [row.kind]: row.count },
    })),
  ];
}
