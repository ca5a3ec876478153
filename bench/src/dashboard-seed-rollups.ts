/**
 * The rows the executions projection keeps for summaries, computed in SQL from seeded `executions` and `mismatches`
 * the way the projection would have counted them: its mismatch lookup (each current mismatch, where it counts) and
 * `summary_rollups` (per week, day and hour × worker / risk level / tool: counts, total duration, the duration histogram
 * with the same `width_bucket` thresholds as `durationBucket`, the current mismatches by kind).
 * `libs/read-models/test/summary-rollups.int-spec.ts` checks that projection against the exact aggregate.
 */
import {
  DURATION_THRESHOLDS_SQL,
  ROLLUP_DIMENSIONS,
  ROLLUP_GRAINS,
  SUMMARY_ROLLUPS,
  type RollupDimension,
} from '@audit-ledger/read-models';
import type pg from 'pg';

export async function seedSummaryRollups(client: pg.Client): Promise<void> {
  // Every seeded mismatch is about an execution and current (one verdict per execution).
  await client.query(
    `INSERT INTO read_models.executions_mismatch_lookup (mismatch_id, stream_id, subject, kind, day, worker_id,
        risk_level, tool_name, position, current, at)
     SELECT m.mismatch_id, m.stream_id, m.execution_id, m.kind, (e.started_at AT TIME ZONE 'UTC')::date, e.worker_id,
            e.risk_level, e.tool_name, m.global_position, NOT m.superseded, e.started_at
       FROM read_models.mismatches m JOIN read_models.executions e ON e.execution_id = m.execution_id`,
  );
  for (const grain of ROLLUP_GRAINS) {
    for (const [dimension, column] of Object.entries(ROLLUP_DIMENSIONS) as [RollupDimension, string][]) {
      const bucket = `(date_trunc('${grain}', $time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')`;
      await client.query(
        `INSERT INTO ${SUMMARY_ROLLUPS} (grain, dimension, bucket, value, executions, successes, failures,
            total_duration_ms, duration_histogram)
         SELECT $1, $2, bucket, value, sum(n), sum(ok), sum(n - ok), sum(total), jsonb_object_agg(h::text, n)
           FROM (SELECT ${bucket.replace('$time', 'started_at')} AS bucket, ${column} AS value,
                        width_bucket(duration_ms, ${DURATION_THRESHOLDS_SQL}) AS h, count(*)::integer AS n,
                        (count(*) FILTER (WHERE exit_code = 0))::integer AS ok, sum(duration_ms) AS total
                   FROM read_models.executions GROUP BY 1, 2, 3) x
          GROUP BY bucket, value`,
        [grain, dimension],
      );
      await client.query(
        `UPDATE ${SUMMARY_ROLLUPS} r SET mismatches_by_kind = m.kinds
           FROM (SELECT bucket, value, jsonb_object_agg(kind, n) AS kinds
                   FROM (SELECT ${bucket.replace('$time', 'at')} AS bucket, ${column} AS value, kind, count(*)::integer AS n
                           FROM read_models.executions_mismatch_lookup WHERE current GROUP BY 1, 2, 3) k
                  GROUP BY bucket, value) m
          WHERE r.grain = $1 AND r.dimension = $2 AND r.bucket = m.bucket AND r.value = m.value`,
        [grain, dimension],
      );
    }
  }
}
