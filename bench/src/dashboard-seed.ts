/**
 * Seeds the read models of a fresh database with `executions` rows (and the approvals, mismatches, daily and session
 * summaries and summary rollups they imply, `dashboard-seed-rollups.ts`) straight in SQL with `generate_series`: a million executions in seconds instead of the hours the
 * ledger would take to append and project them. The tables come from the projections' own migrations; the secondary
 * indexes are dropped during the insert and re-created from their own definitions afterwards (faster than maintaining
 * them row by row), and the reconciliation trigger on `executions` is off during the insert (the seeded verdicts are
 * written directly).
 *
 * Shape: executions spread evenly over the last `days` days (global position grows with time, as in a live ledger);
 * 5 executions per approval, 10 approvals per session; ~200 workers (one per session), ~50 tools (skewed: a few are
 * most of the traffic), risk per approval (safe 60%, moderate 25%, destructive 10%, critical 5%), 10% failures,
 * log-normal durations; verdicts matched 90%, unclear 6%, mismatch 4% (one `mismatches` row each).
 */
import { projectionsWithReconciliation, runReadModelMigrations } from '@audit-ledger/read-models';
import pg from 'pg';
import { seedSummaryRollups } from './dashboard-seed-rollups.js';

export interface SeedOptions {
  executions: number;
  days: number;
  /** The seeded history ends here (the queries' "now"). */
  now: Date;
  /**
   * Added to the seeded rows' global positions (default 0), so that events the ledger then appends for real (at
   * positions from 1) do not collide with them in the read models.
   */
  positionOffset?: number;
}

export interface SeedResult {
  executions: number;
  approvals: number;
  mismatches: number;
  seconds: number;
}

const PER_APPROVAL = 5;
const PER_SESSION = 50;

/** Runs `sql` with the non-unique secondary indexes of `table` dropped, then re-creates them as they were. */
async function withoutSecondaryIndexes(client: pg.Client, table: string, sql: () => Promise<void>): Promise<void> {
  const { rows } = await client.query<{ name: string; definition: string }>(
    `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_index i
      WHERE i.indrelid = $1::regclass AND NOT i.indisunique AND NOT i.indisprimary`,
    [table],
  );
  for (const index of rows) await client.query(`DROP INDEX ${index.name}`);
  await sql();
  for (const index of rows) await client.query(index.definition);
}

export async function seedDashboardData(databaseUrl: string, options: SeedOptions): Promise<SeedResult> {
  const started = performance.now();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await runReadModelMigrations(client, projectionsWithReconciliation());
    await client.query("SET maintenance_work_mem = '256MB'");
    await client.query('SELECT setseed(0.42)');
    const params = [options.executions, options.days, options.now.toISOString(), options.positionOffset ?? 0];
    await client.query('ALTER TABLE read_models.executions DISABLE TRIGGER executions_reconciliation');
    await withoutSecondaryIndexes(client, 'read_models.executions', async () => {
      await client.query(
        `INSERT INTO read_models.executions (execution_id, approval_id, session_id, worker_id, tool_name, command,
            exit_code, started_at, finished_at, duration_ms, token_hash, output_sha256, output_bytes, output_truncated,
            artifacts, risk_level, event_id, stream_id, stream_revision, global_position, recorded_at,
            reconciliation_verdict, reconciled_at)
         SELECT 'exec-' || g, 'appr-' || a, 'sess-' || s, 'worker-' || (hashint4(s) & 2147483647) % 200,
                'tool-' || floor(50 * r_tool * r_tool)::int,
                (ARRAY['docker compose logs --tail 200', 'kubectl get pods -n', 'git status', 'systemctl restart',
                       'psql -c "select 1" -d', 'terraform plan -target', 'rm -rf /tmp/build-', 'curl -sf http://',
                       'journalctl -u', 'aws s3 ls s3://'])[1 + (hashint4(g) & 2147483647) % 10] || ' svc-' || g % 997,
                CASE WHEN r_fail < 0.1 THEN 1 + (g % 3) ELSE 0 END,
                t, t + d * interval '1 millisecond', d, NULL, md5(g::text) || md5(a::text), 200 + g % 4000, false,
                '[]'::jsonb, risk, gen_random_uuid(), 'approval-appr-' || a, (g - 1) % ${PER_APPROVAL} + 1, 3 * g + $4::bigint,
                t + (d + 5) * interval '1 millisecond',
                CASE WHEN r_verdict < 0.9 THEN 'matched' WHEN r_verdict < 0.96 THEN 'unclear' ELSE 'mismatch' END,
                t + (d + 40) * interval '1 millisecond'
           FROM (
             SELECT g, (g - 1) / ${PER_APPROVAL} AS a, (g - 1) / ${PER_SESSION} AS s,
                    random() AS r_tool, random() AS r_fail, random() AS r_verdict,
                    $3::timestamptz - $2 * interval '1 day' * (1 - g::float8 / $1) + random() * interval '2 seconds' AS t,
                    least(600000, exp(3 + 2 * random() + 2 * random())::bigint) AS d,
                    (ARRAY['safe', 'safe', 'safe', 'safe', 'safe', 'safe', 'safe', 'safe', 'safe', 'safe', 'safe',
                           'safe', 'moderate', 'moderate', 'moderate', 'moderate', 'moderate', 'destructive',
                           'destructive', 'critical'])[1 + (hashint4(((g - 1) / ${PER_APPROVAL})::int) & 2147483647) % 20] AS risk
               FROM generate_series(1, $1::int) g
           ) x`,
        params,
      );
    });
    await client.query('ALTER TABLE read_models.executions ENABLE TRIGGER executions_reconciliation');
    // One approval per 5 executions, as the approvals projection would have it after reconciliation.
    await client.query('ALTER TABLE read_models.approvals DISABLE TRIGGER approvals_reconciliation');
    await withoutSecondaryIndexes(client, 'read_models.approvals', async () => {
      await client.query(
        `INSERT INTO read_models.approvals (approval_id, stream_id, instruction, approved_commands, risk_level, decision,
            approved_by, requested_by_worker, requested_by_session, granted_at, expires_at, created_at, status,
            execution_count, first_execution_at, last_execution_at, mismatch_count, last_event_at, position)
         SELECT approval_id, stream_id, 'run ' || min(command), ARRAY[min(command)], min(risk_level), 'approved',
                'operator@example.com', min(worker_id), min(session_id), min(started_at) - interval '5 seconds',
                min(started_at) + interval '1 hour', min(started_at) - interval '10 seconds',
                CASE WHEN bool_or(reconciliation_verdict = 'mismatch') THEN 'mismatch'
                     WHEN bool_or(reconciliation_verdict = 'unclear') THEN 'unclear' ELSE 'matched' END,
                count(*), min(started_at), max(started_at), count(*) FILTER (WHERE reconciliation_verdict = 'mismatch'),
                max(started_at), max(global_position) + 1
           FROM read_models.executions GROUP BY approval_id, stream_id`,
      );
    });
    await client.query('ALTER TABLE read_models.approvals ENABLE TRIGGER approvals_reconciliation');
    await client.query(
      `INSERT INTO read_models.mismatches (mismatch_id, approval_id, execution_id, kind, severity, explanation, approved,
          executed, detected_at, event_id, global_position, stream_id, session_id, reconciler_version)
       SELECT 'mm-' || execution_id, approval_id, execution_id,
              (ARRAY['command_not_approved', 'target_changed', 'extra_command', 'dangerous_flag'])[1 + global_position % 4],
              CASE WHEN risk_level IN ('destructive', 'critical') THEN 'high' ELSE 'medium' END,
              'the executed command differs from the approved one',
              jsonb_build_object('commands', jsonb_build_array(command)), jsonb_build_object('command', command),
              reconciled_at, gen_random_uuid(), global_position + 1, stream_id, session_id, 'reconciler/1.0.0'
         FROM read_models.executions WHERE reconciliation_verdict = 'mismatch'`,
    );
    await client.query(
      `INSERT INTO read_models.daily_summaries (day, worker_id, risk_level, tool_name, executions, successes, failures,
          total_duration_ms)
       SELECT (started_at AT TIME ZONE 'UTC')::date, worker_id, risk_level, tool_name, count(*),
              count(*) FILTER (WHERE exit_code = 0), count(*) FILTER (WHERE exit_code IS DISTINCT FROM 0),
              sum(duration_ms)
         FROM read_models.executions GROUP BY 1, 2, 3, 4`,
    );
    await seedSummaryRollups(client);
    await client.query(
      `INSERT INTO read_models.session_summaries (session_id, total_actions, risk_safe, risk_moderate, risk_destructive,
          risk_critical, approved, successful, failed, total_duration_ms, first_action_at, last_action_at)
       SELECT session_id, count(*), count(*) FILTER (WHERE risk_level = 'safe'),
              count(*) FILTER (WHERE risk_level = 'moderate'), count(*) FILTER (WHERE risk_level = 'destructive'),
              count(*) FILTER (WHERE risk_level = 'critical'), count(*), count(*) FILTER (WHERE exit_code = 0),
              count(*) FILTER (WHERE exit_code IS DISTINCT FROM 0), sum(duration_ms), min(started_at), max(started_at)
         FROM read_models.executions GROUP BY session_id`,
    );
    await client.query('VACUUM ANALYZE read_models.executions');
    await client.query('VACUUM ANALYZE read_models.summary_rollups'); // its mismatch counts were set by UPDATE
    await client.query(
      'ANALYZE read_models.approvals, read_models.mismatches, read_models.daily_summaries, read_models.executions_mismatch_lookup',
    );
    const counts = await client.query<{ executions: number; approvals: number; mismatches: number }>(
      `SELECT (SELECT count(*)::int FROM read_models.executions) AS executions,
              (SELECT count(*)::int FROM read_models.approvals) AS approvals,
              (SELECT count(*)::int FROM read_models.mismatches) AS mismatches`,
    );
    return { ...counts.rows[0]!, seconds: (performance.now() - started) / 1000 };
  } finally {
    await client.end();
  }
}
