import type pg from 'pg';
import { type ProjectionBatch } from '../projection.js';
import { sendLater } from '../statement-queue.js';
import { DURATION_THRESHOLDS, durationBucket } from '../summaries/duration-histogram.js';

/**
 * `read_models.summary_rollups`: what `GET /v1/summaries` reports, per time unit (`grain` week, day or hour, UTC,
 * weeks from Monday) and one dimension value (`worker`, `riskLevel` or `toolName`), kept by the executions projection
 * in the same transaction as the rows it counts: exact counts and total duration, a duration histogram
 * (`duration-histogram.ts`) for the p95, and the current mismatches by kind. Every execution and every current
 * mismatch counts in exactly one row per grain and dimension (nine rows), so a dimension's rows also give the totals.
 */
export const SUMMARY_ROLLUPS = 'read_models.summary_rollups';

/** Coarsest first: a summary reads its bucket's grain, and finer ones only for the partial units at its ends. */
export const ROLLUP_GRAINS = ['week', 'day', 'hour'] as const;
export type RollupGrain = (typeof ROLLUP_GRAINS)[number];
/** The summary dimensions a rollup row is kept for, and the column of `executions` each is. */
export const ROLLUP_DIMENSIONS = { worker: 'worker_id', riskLevel: 'risk_level', toolName: 'tool_name' } as const;
export type RollupDimension = keyof typeof ROLLUP_DIMENSIONS;

export const SUMMARY_ROLLUPS_MIGRATION = `
  CREATE TABLE ${SUMMARY_ROLLUPS} (
    grain text NOT NULL,
    dimension text NOT NULL,
    bucket timestamptz NOT NULL,
    value text NOT NULL,
    executions integer NOT NULL DEFAULT 0,
    successes integer NOT NULL DEFAULT 0,
    failures integer NOT NULL DEFAULT 0,
    total_duration_ms bigint NOT NULL DEFAULT 0,
    duration_histogram jsonb NOT NULL DEFAULT '{}',
    mismatches_by_kind jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (grain, dimension, bucket, value)
  );`;

/** Where an execution (or a mismatch) counts: its time and its worker, risk level and tool. */
export interface RollupKey {
  at: string;
  workerId: string;
  riskLevel: string;
  toolName: string;
}

/** The thresholds as a SQL array literal, for `width_bucket(duration_ms, …)` (same buckets as `durationBucket`). */
export const DURATION_THRESHOLDS_SQL = `'{${DURATION_THRESHOLDS.join(',')}}'::bigint[]`;

/** Start of the UTC hour / day / ISO week (Monday) of an instant, as ISO (PostgreSQL's `date_trunc`). */
export function truncateTo(grain: RollupGrain, at: string | Date): string {
  const date = new Date(at);
  date.setUTCMinutes(0, 0, 0);
  if (grain !== 'hour') date.setUTCHours(0);
  if (grain === 'week') date.setUTCDate(date.getUTCDate() - ((date.getUTCDay() + 6) % 7));
  return date.toISOString();
}

interface RollupDelta {
  grain: RollupGrain;
  dimension: RollupDimension;
  bucket: string;
  value: string;
  executions: number;
  successes: number;
  failures: number;
  total_duration_ms: number;
  /** Executions per duration bucket (only increments). */
  histogram: Record<string, number>;
  /** Change of each kind's count of current mismatches. */
  kinds: Record<string, number>;
}

/**
 * The batch's rollup increments, summed per row and written in one statement at the end of the batch (like
 * `summary-deltas.ts`): increments commute and nothing in a batch reads these rows. Every row an event touched is
 * upserted, even when its increments sum to zero, so live batches and a rebuild's batches give the same rows.
 */
function rowsOf(batch: ProjectionBatch, key: RollupKey): RollupDelta[] {
  const rows = batch.deferred('executions/rollups', () => new Map<string, RollupDelta>(), flushRollups);
  const byDimension: Record<RollupDimension, string> = {
    worker: key.workerId,
    riskLevel: key.riskLevel,
    toolName: key.toolName,
  };
  const touched: RollupDelta[] = [];
  for (const grain of ROLLUP_GRAINS) {
    const bucket = truncateTo(grain, key.at);
    for (const dimension of Object.keys(ROLLUP_DIMENSIONS) as RollupDimension[]) {
      const id = JSON.stringify([grain, dimension, bucket, byDimension[dimension]]);
      let row = rows.get(id);
      if (!row) {
        row = {
          grain,
          dimension,
          bucket,
          value: byDimension[dimension],
          executions: 0,
          successes: 0,
          failures: 0,
          total_duration_ms: 0,
          histogram: {},
          kinds: {},
        };
        rows.set(id, row);
      }
      touched.push(row);
    }
  }
  return touched;
}

/** Counts one execution (just inserted) in its rollup rows. */
export function rollUpExecution(
  batch: ProjectionBatch,
  key: RollupKey,
  execution: { success: boolean; durationMs: number },
): void {
  const bucket = String(durationBucket(execution.durationMs));
  for (const row of rowsOf(batch, key)) {
    row.executions += 1;
    if (execution.success) row.successes += 1;
    else row.failures += 1;
    row.total_duration_ms += execution.durationMs;
    row.histogram[bucket] = (row.histogram[bucket] ?? 0) + 1;
  }
}

/** Adds `delta` to the kind's count of current mismatches in the key's rollup rows; a count back at 0 drops it. */
export function rollUpMismatch(batch: ProjectionBatch, key: RollupKey, kind: string, delta: number): void {
  for (const row of rowsOf(batch, key)) row.kinds[kind] = (row.kinds[kind] ?? 0) + delta;
}

/** Sums two jsonb objects of counts key by key, dropping keys that sum to 0. */
const mergeCounts = (stored: string, added: string) => `(
  SELECT COALESCE(jsonb_object_agg(k, n), '{}'::jsonb) FROM (
    SELECT k, sum(n)::integer AS n FROM (
      SELECT key AS k, value::integer AS n FROM jsonb_each_text(${stored})
      UNION ALL
      SELECT key, value::integer FROM jsonb_each_text(${added})
    ) parts GROUP BY k
  ) sums WHERE n <> 0)`;

async function flushRollups(client: pg.PoolClient, rows: Map<string, RollupDelta>): Promise<void> {
  if (rows.size === 0) return;
  const records = [...rows.values()].map((row) => ({
    ...row,
    kinds: Object.fromEntries(Object.entries(row.kinds).filter(([, n]) => n !== 0)),
  }));
  // The sorted rows take their row locks in one order.
  await sendLater(
    client,
    `INSERT INTO ${SUMMARY_ROLLUPS} AS r (grain, dimension, bucket, value, executions, successes, failures,
        total_duration_ms, duration_histogram, mismatches_by_kind)
     SELECT grain, dimension, bucket, value, executions, successes, failures, total_duration_ms, histogram, kinds
       FROM jsonb_to_recordset($1::jsonb) AS d(grain text, dimension text, bucket timestamptz, value text,
            executions integer, successes integer, failures integer, total_duration_ms bigint, histogram jsonb,
            kinds jsonb)
      ORDER BY grain, dimension, bucket, value
     ON CONFLICT (grain, dimension, bucket, value) DO UPDATE SET
       executions = r.executions + EXCLUDED.executions, successes = r.successes + EXCLUDED.successes,
       failures = r.failures + EXCLUDED.failures, total_duration_ms = r.total_duration_ms + EXCLUDED.total_duration_ms,
       duration_histogram = CASE WHEN EXCLUDED.duration_histogram = '{}'::jsonb THEN r.duration_histogram
         ELSE ${mergeCounts('r.duration_histogram', 'EXCLUDED.duration_histogram')} END,
       mismatches_by_kind = CASE WHEN EXCLUDED.mismatches_by_kind = '{}'::jsonb THEN r.mismatches_by_kind
         ELSE ${mergeCounts('r.mismatches_by_kind', 'EXCLUDED.mismatches_by_kind')} END`,
    [JSON.stringify(records)],
  );
}
