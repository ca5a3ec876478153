import type pg from 'pg';
import { type ProjectionBatch } from '../projection.js';
import { sendLater } from '../statement-queue.js';

const DAILY = 'read_models.daily_summaries';
const SESSIONS = 'read_models.session_summaries';

export type DailyCounter =
  | 'executions'
  | 'successes'
  | 'failures'
  | 'total_duration_ms'
  | 'approvals_approved'
  | 'approvals_auto'
  | 'approvals_rejected'
  | 'approvals_revoked';

const DAILY_COUNTERS: readonly DailyCounter[] = [
  'executions',
  'successes',
  'failures',
  'total_duration_ms',
  'approvals_approved',
  'approvals_auto',
  'approvals_rejected',
  'approvals_revoked',
];

export interface DailyKey {
  day: string;
  workerId: string;
  riskLevel: string;
  toolName: string;
}

interface DailyDelta {
  day: string;
  worker_id: string;
  risk_level: string;
  tool_name: string;
  counters: Record<DailyCounter, number>;
  /** Change of each kind's count in `mismatches_by_kind`. */
  kinds: Record<string, number>;
}

/**
 * The batch's increments of `daily_summaries`, summed per row and written in one statement at the end of the batch.
 * Increments commute, and nothing in a batch reads these rows, so the rows end as they would with one upsert per
 * event. Every row an event touched is upserted, even when its increments sum to zero (as per-event upserts would
 * have created it), so that live batches and a rebuild's batches give the same rows.
 */
function dailyDeltas(batch: ProjectionBatch): Map<string, DailyDelta> {
  return batch.deferred('executions/daily', () => new Map<string, DailyDelta>(), flushDaily);
}

function rowOf(batch: ProjectionBatch, key: DailyKey): DailyDelta {
  const rows = dailyDeltas(batch);
  const id = JSON.stringify([key.day, key.workerId, key.riskLevel, key.toolName]);
  let row = rows.get(id);
  if (!row) {
    row = {
      day: key.day,
      worker_id: key.workerId,
      risk_level: key.riskLevel,
      tool_name: key.toolName,
      counters: Object.fromEntries(DAILY_COUNTERS.map((c) => [c, 0])) as Record<DailyCounter, number>,
      kinds: {},
    };
    rows.set(id, row);
  }
  return row;
}

export function bumpDaily(batch: ProjectionBatch, key: DailyKey, deltas: Partial<Record<DailyCounter, number>>): void {
  const row = rowOf(batch, key);
  for (const [counter, delta] of Object.entries(deltas) as [DailyCounter, number][]) row.counters[counter] += delta;
}

/** Adds `delta` to the kind's count in the row's `mismatches_by_kind`; a count back at 0 drops the kind. */
export function bumpMismatches(batch: ProjectionBatch, key: DailyKey, kind: string, delta: number): void {
  const row = rowOf(batch, key);
  row.kinds[kind] = (row.kinds[kind] ?? 0) + delta;
}

async function flushDaily(client: pg.PoolClient, rows: Map<string, DailyDelta>): Promise<void> {
  if (rows.size === 0) return;
  const records = [...rows.values()].map((row) => ({
    day: row.day,
    worker_id: row.worker_id,
    risk_level: row.risk_level,
    tool_name: row.tool_name,
    ...row.counters,
    kinds: Object.fromEntries(Object.entries(row.kinds).filter(([, n]) => n !== 0)),
  }));
  // The sorted rows take their row locks in one order. A kind's count that sums to 0 is dropped.
  await sendLater(
    client,
    `INSERT INTO ${DAILY} AS s (day, worker_id, risk_level, tool_name, ${DAILY_COUNTERS.join(', ')}, mismatches_by_kind)
     SELECT day, worker_id, risk_level, tool_name, ${DAILY_COUNTERS.join(', ')}, kinds
       FROM jsonb_to_recordset($1::jsonb) AS r(day date, worker_id text, risk_level text, tool_name text,
            ${DAILY_COUNTERS.map((c) => `${c} ${c === 'total_duration_ms' ? 'bigint' : 'integer'}`).join(', ')},
            kinds jsonb)
      ORDER BY day, worker_id, risk_level, tool_name
     ON CONFLICT (day, worker_id, risk_level, tool_name) DO UPDATE SET
       ${DAILY_COUNTERS.map((c) => `${c} = s.${c} + EXCLUDED.${c}`).join(', ')},
       mismatches_by_kind = CASE WHEN EXCLUDED.mismatches_by_kind = '{}'::jsonb THEN s.mismatches_by_kind ELSE (
         SELECT COALESCE(jsonb_object_agg(k, n), '{}'::jsonb) FROM (
           SELECT k, sum(n)::integer AS n FROM (
             SELECT key AS k, value::integer AS n FROM jsonb_each_text(s.mismatches_by_kind)
             UNION ALL
             SELECT key, value::integer FROM jsonb_each_text(EXCLUDED.mismatches_by_kind)
           ) parts GROUP BY k
         ) sums WHERE n <> 0) END`,
    [JSON.stringify(records)],
  );
}

interface SessionDelta {
  session_id: string;
  total_actions: number;
  risk_safe: number;
  risk_moderate: number;
  risk_destructive: number;
  risk_critical: number;
  risk_none: number;
  approved: number;
  rejected: number;
  successful: number;
  failed: number;
  total_duration_ms: number;
  /** Every action's start: the row's first and last action are their least and greatest. */
  started: string[];
}

export interface SessionAction {
  riskColumn: 'risk_safe' | 'risk_moderate' | 'risk_destructive' | 'risk_critical' | 'risk_none';
  approved: boolean;
  rejected: boolean;
  success: boolean;
  durationMs: number;
  startedAt: string;
}

/** One action of a session, counted in `session_summaries` at the end of the batch (summed per session). */
export function countSessionAction(batch: ProjectionBatch, sessionId: string, action: SessionAction): void {
  const sessions = batch.deferred('executions/sessions', () => new Map<string, SessionDelta>(), flushSessions);
  let row = sessions.get(sessionId);
  if (!row) {
    row = {
      session_id: sessionId,
      total_actions: 0,
      risk_safe: 0,
      risk_moderate: 0,
      risk_destructive: 0,
      risk_critical: 0,
      risk_none: 0,
      approved: 0,
      rejected: 0,
      successful: 0,
      failed: 0,
      total_duration_ms: 0,
      started: [],
    };
    sessions.set(sessionId, row);
  }
  row.total_actions += 1;
  row[action.riskColumn] += 1;
  if (action.approved) row.approved += 1;
  if (action.rejected) row.rejected += 1;
  if (action.success) row.successful += 1;
  else row.failed += 1;
  row.total_duration_ms += action.durationMs;
  row.started.push(action.startedAt);
}

const SESSION_COUNTERS = [
  'total_actions',
  'risk_safe',
  'risk_moderate',
  'risk_destructive',
  'risk_critical',
  'risk_none',
  'approved',
  'rejected',
  'successful',
  'failed',
  'total_duration_ms',
] as const;

async function flushSessions(client: pg.PoolClient, rows: Map<string, SessionDelta>): Promise<void> {
  if (rows.size === 0) return;
  await sendLater(
    client,
    `INSERT INTO ${SESSIONS} AS s (session_id, ${SESSION_COUNTERS.join(', ')}, first_action_at, last_action_at)
     SELECT session_id, ${SESSION_COUNTERS.join(', ')},
            (SELECT min(t::timestamptz) FROM jsonb_array_elements_text(started) t),
            (SELECT max(t::timestamptz) FROM jsonb_array_elements_text(started) t)
       FROM jsonb_to_recordset($1::jsonb) AS r(session_id text,
            ${SESSION_COUNTERS.map((c) => `${c} ${c === 'total_duration_ms' ? 'bigint' : 'integer'}`).join(', ')},
            started jsonb)
      ORDER BY session_id
     ON CONFLICT (session_id) DO UPDATE SET
       ${SESSION_COUNTERS.map((c) => `${c} = s.${c} + EXCLUDED.${c}`).join(', ')},
       first_action_at = LEAST(s.first_action_at, EXCLUDED.first_action_at),
       last_action_at = GREATEST(s.last_action_at, EXCLUDED.last_action_at)`,
    [JSON.stringify([...rows.values()])],
  );
}
