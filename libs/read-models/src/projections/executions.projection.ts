import type pg from 'pg';
import {
  assessCommandRisk,
  APPROVAL_STREAM_PREFIX,
  ApprovalGrantedData,
  ExecutionReconciledData,
  MismatchDetectedData,
  ReconciliationUnclearData,
  ApprovalRejectedData,
  ApprovalRevokedData,
  ExecutionLoggedData,
  RiskLevel,
  SESSION_STREAM_PREFIX,
} from '@audit-ledger/domain';
import { type RecordedEvent } from '@audit-ledger/event-store';
import { inBatch, type Projection, type ProjectionBatch } from '../projection.js';
import { bumpDaily, bumpMismatches, countSessionAction, type DailyKey, type SessionAction } from './summary-deltas.js';
import { rollUpExecution, rollUpMismatch, SUMMARY_ROLLUPS_MIGRATION } from './summary-rollup.js';
import { sendAndRead } from '../statement-queue.js';

const EXECUTIONS = 'read_models.executions';
const DAILY = 'read_models.daily_summaries';
const SESSIONS = 'read_models.session_summaries';
/** Private to this projection: what it needs to know of an approval when one of its executions arrives. */
const LOOKUP = 'read_models.executions_approval_lookup';
/** Private to this projection: each mismatch counted in `daily_summaries.mismatches_by_kind`, and where. */
const MISMATCH_LOOKUP = 'read_models.executions_mismatch_lookup';

/**
 * The first version of the projection that fills `summary_rollups`: rows left by an older one (a checkpoint of that
 * version, not rebuilt yet) hold only what the newer code applied since, so the summaries do not read them.
 */
export const SUMMARY_ROLLUPS_SINCE_VERSION = 3;

/** Risk level of an execution with no approval id (a `session-` stream action). */
export const NO_APPROVAL_RISK = 'none';
/** Risk level when the approval id is known but no grant has been seen (yet). */
export const UNKNOWN_RISK = 'unknown';
/** Every value of `executions.risk_level`: the approval's risk level, or one of the two above. */
export const EXECUTION_RISK_LEVELS = [...RiskLevel.options, NO_APPROVAL_RISK, UNKNOWN_RISK] as const;

/**
 * `executions`, `daily_summaries` and `session_summaries`, in one projection so that the summaries count an
 * execution exactly when its row is inserted: executions are keyed by execution id (`ON CONFLICT DO NOTHING`), and
 * the summary increments run only when that insert happened. A conflict with another event than the one applied
 * again (a second execution under a used id, from an older ledger) parks that event instead of dropping it. Approval counts in the daily summaries are guarded the
 * same way by the lookup table's flags.
 */
export const executionsProjection: Projection = {
  name: 'executions',
  // 2: daily_summaries.mismatches_by_kind is filled (migration 002).
  // 3: summary_rollups, and the mismatch lookup's `at` (migration 003).
  // 4: executions.assessed_risk, the assessed risk of the command next to the approval's declared one (004).
  // 5: executions.session_id of an execution logged without one is its approval's session (issue 15).
  version: 5,
  handles: [
    'ApprovalGranted',
    'ApprovalRejected',
    'ApprovalRevoked',
    'ExecutionLogged',
    'MismatchDetected',
    'ExecutionReconciled',
    'ReconciliationUnclear',
  ],
  filter: { streamPrefixes: [APPROVAL_STREAM_PREFIX, SESSION_STREAM_PREFIX] },
  migrations: [
    {
      id: '001-executions',
      sql: `
        CREATE TABLE ${EXECUTIONS} (
          execution_id text PRIMARY KEY,
          approval_id text,
          session_id text,
          worker_id text NOT NULL,
          tool_name text NOT NULL,
          command text NOT NULL,
          exit_code integer,
          started_at timestamptz NOT NULL,
          finished_at timestamptz NOT NULL,
          duration_ms bigint NOT NULL,
          token_hash text,
          output_sha256 text NOT NULL,
          output_bytes bigint NOT NULL,
          output_truncated boolean NOT NULL,
          artifacts jsonb NOT NULL,
          risk_level text NOT NULL,
          event_id uuid NOT NULL,
          stream_id text NOT NULL,
          stream_revision integer NOT NULL,
          global_position bigint NOT NULL UNIQUE,
          recorded_at timestamptz NOT NULL,
          reconciliation_verdict text,
          reconciled_at timestamptz
        );
        CREATE INDEX executions_started_idx ON ${EXECUTIONS} (started_at, global_position);
        CREATE INDEX executions_approval_idx ON ${EXECUTIONS} (approval_id, started_at);
        CREATE INDEX executions_session_idx ON ${EXECUTIONS} (session_id, started_at);
        CREATE INDEX executions_worker_idx ON ${EXECUTIONS} (worker_id, started_at);
        CREATE INDEX executions_tool_idx ON ${EXECUTIONS} (tool_name, started_at);
        CREATE INDEX executions_risk_idx ON ${EXECUTIONS} (risk_level, started_at);

        CREATE TABLE ${LOOKUP} (
          approval_id text PRIMARY KEY,
          risk_level text,
          decision text,
          worker_id text,
          session_id text,
          granted boolean NOT NULL DEFAULT false,
          rejected boolean NOT NULL DEFAULT false,
          revoked boolean NOT NULL DEFAULT false
        );

        CREATE TABLE ${DAILY} (
          day date NOT NULL,
          worker_id text NOT NULL,
          risk_level text NOT NULL,
          tool_name text NOT NULL,
          executions integer NOT NULL DEFAULT 0,
          successes integer NOT NULL DEFAULT 0,
          failures integer NOT NULL DEFAULT 0,
          total_duration_ms bigint NOT NULL DEFAULT 0,
          approvals_approved integer NOT NULL DEFAULT 0,
          approvals_auto integer NOT NULL DEFAULT 0,
          approvals_rejected integer NOT NULL DEFAULT 0,
          approvals_revoked integer NOT NULL DEFAULT 0,
          mismatches_by_kind jsonb NOT NULL DEFAULT '{}',
          PRIMARY KEY (day, worker_id, risk_level, tool_name)
        );

        CREATE TABLE ${SESSIONS} (
          session_id text PRIMARY KEY,
          total_actions integer NOT NULL DEFAULT 0,
          risk_safe integer NOT NULL DEFAULT 0,
          risk_moderate integer NOT NULL DEFAULT 0,
          risk_destructive integer NOT NULL DEFAULT 0,
          risk_critical integer NOT NULL DEFAULT 0,
          risk_none integer NOT NULL DEFAULT 0,
          approved integer NOT NULL DEFAULT 0,
          rejected integer NOT NULL DEFAULT 0,
          successful integer NOT NULL DEFAULT 0,
          failed integer NOT NULL DEFAULT 0,
          total_duration_ms bigint NOT NULL DEFAULT 0,
          first_action_at timestamptz NOT NULL,
          last_action_at timestamptz NOT NULL
        );`,
    },
    {
      id: '002-mismatches-by-kind',
      sql: `
        CREATE TABLE ${MISMATCH_LOOKUP} (
          mismatch_id text PRIMARY KEY,
          stream_id text NOT NULL,
          subject text,
          kind text NOT NULL,
          day date NOT NULL,
          worker_id text NOT NULL,
          risk_level text NOT NULL,
          tool_name text NOT NULL,
          position bigint NOT NULL,
          current boolean NOT NULL
        );
        CREATE INDEX executions_mismatch_lookup_subject_idx ON ${MISMATCH_LOOKUP} (stream_id, subject)
          WHERE current;`,
    },
    {
      id: '003-summary-rollups',
      sql: `${SUMMARY_ROLLUPS_MIGRATION}
        ALTER TABLE ${MISMATCH_LOOKUP} ADD COLUMN at timestamptz;
        CREATE INDEX executions_mismatch_lookup_at_idx ON ${MISMATCH_LOOKUP} (at) WHERE current;`,
    },
    {
      // The risk of the command itself (the effect model's), next to the approval's declared `risk_level`.
      id: '004-assessed-risk',
      sql: `
        ALTER TABLE ${EXECUTIONS} ADD COLUMN assessed_risk text;
        CREATE INDEX executions_assessed_risk_idx ON ${EXECUTIONS} (assessed_risk, started_at);`,
    },
    {
      // The dashboard (issue 15): unclear verdicts over time, and sessions by their last action.
      id: '005-dashboard-indexes',
      sql: `
        CREATE INDEX executions_unclear_idx ON ${EXECUTIONS} (started_at) WHERE reconciliation_verdict = 'unclear';
        CREATE INDEX session_summaries_last_action_idx ON ${SESSIONS} (last_action_at, session_id);`,
    },
  ],
  // An execution's insert fires the reconciliation trigger, which takes the stream's lock shared.
  reconciliationLocks: { types: ['ExecutionLogged'], mode: 'shared' },
  // The summaries' increments are summed per row over the batch and written at its end (summary-deltas.ts).
  apply: (client, event, batch) =>
    inBatch(client, event, batch, async (b) => {
      if (event.type === 'ExecutionLogged') {
        const data = ExecutionLoggedData.parse(event.data);
        // A gathered mismatch about this execution id was detected before it was logged: it counts without it.
        if (mismatchesOf(b).executionIds.has(data.executionId)) await flushMismatches(client, b, mismatchesOf(b));
        executionsOf(b).push({ event, data });
        return;
      }
      switch (event.type) {
        case 'MismatchDetected':
          return gatherMismatch(b, event, MismatchDetectedData.parse(event.data));
        case 'ExecutionReconciled':
          return gatherSupersede(b, event, ExecutionReconciledData.parse(event.data).executionId);
        case 'ReconciliationUnclear':
          return gatherSupersede(b, event, ReconciliationUnclearData.parse(event.data).executionId);
      }
      // Grants, rejections and revocations change the lookup that gathered executions and mismatches are counted
      // with: those go first.
      await flushMismatches(client, b, mismatchesOf(b));
      switch (event.type) {
        case 'ApprovalGranted':
          return granted(client, b, ApprovalGrantedData.parse(event.data));
        case 'ApprovalRejected': {
          const data = ApprovalRejectedData.parse(event.data);
          return ended(client, b, data.approvalId, 'rejected', data.rejectedAt);
        }
        case 'ApprovalRevoked': {
          const data = ApprovalRevokedData.parse(event.data);
          return ended(client, b, data.approvalId, 'revoked', data.revokedAt);
        }
      }
    }),
};

interface LookupRow {
  risk_level: string | null;
  worker_id: string | null;
  session_id: string | null;
  granted: boolean;
  rejected: boolean;
  revoked: boolean;
}

const day = (iso: string): string => iso.slice(0, 10);

async function granted(client: pg.PoolClient, batch: ProjectionBatch, data: ApprovalGrantedData): Promise<void> {
  const { rowCount } = await client.query(
    `INSERT INTO ${LOOKUP} AS l (approval_id, risk_level, decision, worker_id, session_id, granted)
     VALUES ($1, $2, $3, $4, $5, true)
     ON CONFLICT (approval_id) DO UPDATE SET risk_level = EXCLUDED.risk_level, decision = EXCLUDED.decision,
       worker_id = EXCLUDED.worker_id, session_id = EXCLUDED.session_id, granted = true
     WHERE NOT l.granted`,
    [
      data.approvalId,
      data.riskLevel,
      data.decision,
      data.requestedBy.workerId ?? null,
      data.requestedBy.sessionId ?? null,
    ],
  );
  if (rowCount !== 1) return;
  bumpDaily(
    batch,
    { day: day(data.grantedAt), workerId: data.requestedBy.workerId ?? '', riskLevel: data.riskLevel, toolName: '' },
    data.decision === 'auto' ? { approvals_auto: 1 } : { approvals_approved: 1 },
  );
}

async function ended(
  client: pg.PoolClient,
  batch: ProjectionBatch,
  approvalId: string,
  how: 'rejected' | 'revoked',
  at: string,
): Promise<void> {
  const { rows } = await client.query<LookupRow>(
    `INSERT INTO ${LOOKUP} AS l (approval_id, ${how}) VALUES ($1, true)
     ON CONFLICT (approval_id) DO UPDATE SET ${how} = true WHERE NOT l.${how}
     RETURNING risk_level, worker_id, session_id, granted, rejected, revoked`,
    [approvalId],
  );
  const row = rows[0];
  if (!row) return;
  bumpDaily(
    batch,
    { day: day(at), workerId: row.worker_id ?? '', riskLevel: row.risk_level ?? UNKNOWN_RISK, toolName: '' },
    how === 'rejected' ? { approvals_rejected: 1 } : { approvals_revoked: 1 },
  );
}

interface LoggedExecution {
  event: RecordedEvent;
  data: ExecutionLoggedData;
}

/** The batch's executions not written yet, in event order. */
function executionsOf(batch: ProjectionBatch): LoggedExecution[] {
  return batch.deferred(
    'executions/rows',
    () => [] as LoggedExecution[],
    (client, pending) => flushExecutions(client, batch, pending),
  );
}

/**
 * Inserts the gathered executions in one statement, each with its approval's risk level and (when it names none) its
 * approval's session from the lookup table (as it is before them: events that change it flush the executions first), and counts the ones inserted in the
 * summaries. An execution projected already (its id is in the table, also earlier in the same statement: the first in
 * event order wins) is not inserted and counts nothing twice.
 */
async function flushExecutions(
  client: pg.PoolClient,
  batch: ProjectionBatch,
  pending: LoggedExecution[],
  /** The batch's gathered mismatches (passed while they are being flushed: the batch no longer holds them then). */
  gathered?: GatheredMismatches,
): Promise<void> {
  if (pending.length === 0) return;
  // Supersedes gathered while no mismatch rows wait (those must be inserted first) travel with the insert below.
  const mismatches = gathered ?? mismatchesOf(batch);
  if (mismatches.rows.length === 0) await supersede(client, batch, mismatches, true);
  const items = pending.splice(0);
  // Assessed once per execution: the row's `assessed_risk` and the summaries' risk level (`count`).
  const risks = items.map(({ data }) => assessCommandRisk(data.command));
  const records = items.map(({ event, data }, i) => ({
    execution_id: data.executionId,
    approval_id: data.approvalId ?? null,
    session_id: data.sessionId ?? null,
    worker_id: data.workerId,
    tool_name: data.toolName,
    command: data.command,
    assessed_risk: risks[i]!,
    exit_code: data.exitCode,
    started_at: data.startedAt,
    finished_at: data.finishedAt,
    duration_ms: data.durationMs,
    token_hash: data.tokenHash ?? null,
    output_sha256: data.output.sha256,
    output_bytes: data.output.bytes,
    output_truncated: data.output.truncated,
    artifacts: data.artifacts,
    event_id: event.eventId,
    stream_id: event.streamId,
    stream_revision: event.streamRevision,
    global_position: event.globalPosition.toString(),
    recorded_at: event.recordedAt.toISOString(),
  }));
  const { rows } = await client.query<LookupRow & { global_position: string }>(
    `WITH r AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(execution_id text, approval_id text, session_id text,
         worker_id text, tool_name text, command text, assessed_risk text, exit_code integer, started_at timestamptz,
         finished_at timestamptz, duration_ms bigint, token_hash text, output_sha256 text, output_bytes bigint,
         output_truncated boolean, artifacts jsonb, event_id uuid, stream_id text, stream_revision integer,
         global_position bigint, recorded_at timestamptz)
     ), ins AS (
       INSERT INTO ${EXECUTIONS} (execution_id, approval_id, session_id, worker_id, tool_name, command, exit_code,
          started_at, finished_at, duration_ms, token_hash, output_sha256, output_bytes, output_truncated, artifacts,
          assessed_risk, risk_level, event_id, stream_id, stream_revision, global_position, recorded_at)
       SELECT r.execution_id, r.approval_id, COALESCE(r.session_id, l.session_id), r.worker_id, r.tool_name, r.command, r.exit_code,
          r.started_at, r.finished_at, r.duration_ms, r.token_hash, r.output_sha256, r.output_bytes,
          r.output_truncated, r.artifacts, r.assessed_risk,
          CASE WHEN r.approval_id IS NULL THEN '${NO_APPROVAL_RISK}' ELSE COALESCE(l.risk_level, '${UNKNOWN_RISK}') END,
          r.event_id, r.stream_id, r.stream_revision, r.global_position, r.recorded_at
         FROM r LEFT JOIN ${LOOKUP} l ON l.approval_id = r.approval_id
        ORDER BY r.global_position
       ON CONFLICT (execution_id) DO NOTHING
       RETURNING global_position
     )
     SELECT ins.global_position::text AS global_position, l.risk_level, l.worker_id, l.session_id, l.granted,
            l.rejected, l.revoked
       FROM ins JOIN r USING (global_position) LEFT JOIN ${LOOKUP} l ON l.approval_id = r.approval_id`,
    [JSON.stringify(records)],
  );
  const inserted = new Map(rows.map((row) => [row.global_position, row]));
  const notInserted: LoggedExecution[] = [];
  for (const [i, item] of items.entries()) {
    const found = inserted.get(item.event.globalPosition.toString());
    if (!found) {
      notInserted.push(item); // projected already (count nothing twice), or another execution holds its id
      continue;
    }
    count(batch, item.data, risks[i]!, item.data.approvalId && found.granted !== null ? found : undefined);
  }
  if (notInserted.length > 0) await refuseShadowedExecutions(client, notInserted);
}

/**
 * An execution not inserted because its id is taken must be the very event that took it (applied again): a second
 * execution stored under a used execution id (possible only in a store written before execution event ids became
 * stream-independent, see docs/api.md) would otherwise vanish from the read side. Throwing parks it: recorded in
 * `read_models.parked_events`, logged, counted in health and metrics, and the projection carries on.
 */
async function refuseShadowedExecutions(client: pg.PoolClient, items: readonly LoggedExecution[]): Promise<void> {
  const { rows } = await client.query<{ execution_id: string; global_position: string; stream_id: string }>(
    `SELECT execution_id, global_position::text AS global_position, stream_id FROM ${EXECUTIONS}
      WHERE execution_id = ANY($1::text[])`,
    [items.map((item) => item.data.executionId)],
  );
  const holders = new Map(rows.map((row) => [row.execution_id, row]));
  for (const { event, data } of items) {
    const holder = holders.get(data.executionId);
    if (holder && holder.global_position === event.globalPosition.toString()) continue;
    throw new Error(
      `Execution id ${data.executionId} is already held by the execution at global position ` +
        `${holder?.global_position ?? '(unknown)'} (stream ${holder?.stream_id ?? '(unknown)'}): the ExecutionLogged at ` +
        `${event.globalPosition} (stream ${event.streamId}, event ${event.eventId}) is a second execution under the ` +
        `same id, which the executions read model cannot show`,
    );
  }
}

/** An inserted execution in the summaries, with its approval's lookup row as it was (if any). */
function count(
  batch: ProjectionBatch,
  data: ExecutionLoggedData,
  /** `assessCommandRisk(data.command)`: summaries by risk count what ran (`docker compose down -v` under a "safe"
   * approval is critical). */
  riskLevel: string,
  approval: LookupRow | undefined,
): void {
  const success = data.exitCode === 0;
  bumpDaily(
    batch,
    { day: day(data.startedAt), workerId: data.workerId, riskLevel, toolName: data.toolName },
    {
      executions: 1,
      successes: success ? 1 : 0,
      failures: success ? 0 : 1,
      total_duration_ms: data.durationMs,
    },
  );
  rollUpExecution(
    batch,
    { at: data.startedAt, workerId: data.workerId, riskLevel, toolName: data.toolName },
    { success, durationMs: data.durationMs },
  );
  const sessionId = data.sessionId ?? approval?.session_id ?? undefined;
  if (!sessionId) return;
  const riskColumn = (
    ['safe', 'moderate', 'destructive', 'critical'].includes(riskLevel) ? `risk_${riskLevel}` : 'risk_none'
  ) as SessionAction['riskColumn'];
  countSessionAction(batch, sessionId, {
    riskColumn,
    approved: approval?.granted === true && !approval.rejected && !approval.revoked,
    rejected: approval?.rejected === true || approval?.revoked === true,
    success,
    durationMs: data.durationMs,
    startedAt: data.startedAt,
  });
}

/**
 * `daily_summaries.mismatches_by_kind` counts the current mismatches, as `mismatches` rows that are not superseded:
 * a later verdict about the same subject (the execution, or `approval_unused` of the approval) supersedes the
 * earlier mismatch, exactly as the reconciliation projection decides it. A mismatch about an execution counts in the
 * execution's row (day of `startedAt`, worker, risk level, tool); one without an execution counts on the day it was
 * detected (`recordedAt`), with the approval's worker and risk level and tool `''`, like approvals.
 */
interface GatheredMismatch {
  mismatch_id: string;
  stream_id: string;
  /** The execution id, `approval_unused`, or null: what a later verdict supersedes it by. */
  subject: string | null;
  kind: string;
  execution_id: string | null;
  approval_id: string | null;
  detected_day: string;
  detected_at: string;
  position: string;
}

interface SupersedeUpTo {
  stream_id: string;
  subject: string;
  /** Mismatches of the subject below this position stop counting. */
  position: string;
}

/**
 * The batch's mismatches and verdicts not written yet. Mismatches in event order; verdicts (and recorded mismatches,
 * which supersede the earlier ones about their subject) only as the latest position per subject: a mismatch stops
 * counting exactly when a verdict about its subject comes after it, so the latest one decides.
 */
interface GatheredMismatches {
  rows: GatheredMismatch[];
  executionIds: Set<string>;
  supersede: Map<string, SupersedeUpTo>;
}

function mismatchesOf(batch: ProjectionBatch): GatheredMismatches {
  return batch.deferred(
    'executions/mismatches',
    () => ({ rows: [], executionIds: new Set<string>(), supersede: new Map<string, SupersedeUpTo>() }),
    (client, gathered) => flushMismatches(client, batch, gathered),
  );
}

function gatherMismatch(batch: ProjectionBatch, event: RecordedEvent, data: MismatchDetectedData): void {
  const gathered = mismatchesOf(batch);
  const approvalId =
    data.approvalId ??
    (event.streamId.startsWith(APPROVAL_STREAM_PREFIX) ? event.streamId.slice(APPROVAL_STREAM_PREFIX.length) : null);
  gathered.rows.push({
    mismatch_id: data.mismatchId,
    stream_id: event.streamId,
    subject: data.executionId ?? (data.kind === 'approval_unused' ? 'approval_unused' : null),
    kind: data.kind,
    execution_id: data.executionId ?? null,
    approval_id: approvalId || null,
    detected_day: day(event.recordedAt.toISOString()),
    detected_at: event.recordedAt.toISOString(),
    position: event.globalPosition.toString(),
  });
  if (data.executionId) gathered.executionIds.add(data.executionId);
}

function gatherSupersede(batch: ProjectionBatch, event: RecordedEvent, subject: string): void {
  supersedeUpTo(mismatchesOf(batch), event.streamId, subject, event.globalPosition);
}

function supersedeUpTo(gathered: GatheredMismatches, streamId: string, subject: string, position: bigint): void {
  const key = JSON.stringify([streamId, subject]);
  const known = gathered.supersede.get(key);
  if (known && BigInt(known.position) >= position) return;
  gathered.supersede.set(key, { stream_id: streamId, subject, position: position.toString() });
}

/**
 * Writes the gathered executions (a mismatch's summary row is its execution's), then the mismatches: each recorded
 * with the summary row it counts in (the execution's: day of its start, worker, risk level, tool; else the approval's
 * on the day it was detected, tool '') unless recorded already (then it counts nothing and supersedes nothing), then
 * the mismatches that a later verdict about their subject supersedes stop counting.
 */
async function flushMismatches(
  client: pg.PoolClient,
  batch: ProjectionBatch,
  gathered: GatheredMismatches,
): Promise<void> {
  await flushExecutions(client, batch, executionsOf(batch), gathered);
  const rows = gathered.rows.splice(0);
  gathered.executionIds.clear();
  if (rows.length > 0) {
    const { rows: recorded } = await client.query<MismatchRow & { stream_id: string; subject: string | null }>(
      `WITH r AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(mismatch_id text, stream_id text, subject text, kind text,
           execution_id text, approval_id text, detected_day date, detected_at timestamptz, position bigint)
       ), k AS (
         SELECT r.mismatch_id, r.stream_id, r.subject, r.kind, r.position,
                CASE WHEN e.execution_id IS NOT NULL THEN (e.started_at AT TIME ZONE 'UTC')::date
                     ELSE r.detected_day END AS day,
                CASE WHEN e.execution_id IS NOT NULL THEN e.worker_id ELSE COALESCE(l.worker_id, '') END AS worker_id,
                CASE WHEN e.execution_id IS NOT NULL THEN COALESCE(e.assessed_risk, e.risk_level)
                     WHEN r.approval_id IS NULL THEN '${NO_APPROVAL_RISK}'
                     ELSE COALESCE(l.risk_level, '${UNKNOWN_RISK}') END AS risk_level,
                CASE WHEN e.execution_id IS NOT NULL THEN e.tool_name ELSE '' END AS tool_name,
                CASE WHEN e.execution_id IS NOT NULL THEN e.started_at ELSE r.detected_at END AS at
           FROM r
           LEFT JOIN ${EXECUTIONS} e ON e.execution_id = r.execution_id
           LEFT JOIN ${LOOKUP} l ON l.approval_id = r.approval_id
       )
       INSERT INTO ${MISMATCH_LOOKUP} (mismatch_id, stream_id, subject, kind, day, worker_id, risk_level, tool_name,
          position, current, at)
       SELECT mismatch_id, stream_id, subject, kind, day, worker_id, risk_level, tool_name, position, true, at
         FROM k ORDER BY position
       ON CONFLICT (mismatch_id) DO NOTHING
       RETURNING stream_id, subject, kind, position::text AS position, to_char(day, 'YYYY-MM-DD') AS day, worker_id,
                 risk_level, tool_name, at`,
      [JSON.stringify(rows)],
    );
    for (const row of recorded) {
      countMismatch(batch, row, 1);
      if (row.subject !== null) supersedeUpTo(gathered, row.stream_id, row.subject, BigInt(row.position));
    }
  }
  await supersede(client, batch, gathered, false);
}

const SUPERSEDE = `UPDATE ${MISMATCH_LOOKUP} m SET current = false
    FROM jsonb_to_recordset($1::jsonb) AS r(stream_id text, subject text, position bigint)
   WHERE m.stream_id = r.stream_id AND m.subject = r.subject AND m.position < r.position AND m.current
   RETURNING m.kind, m.position::text AS position, to_char(m.day, 'YYYY-MM-DD') AS day, m.worker_id, m.risk_level,
             m.tool_name, coalesce(m.at, m.day::timestamp AT TIME ZONE 'UTC') AS at`;

/**
 * The gathered mismatches' stopping to count: their lookup rows no longer current, the summaries counted down.
 * `early`: sent with the executions' insert about to follow (queued, its rows counted when that round trip returns,
 * before the summaries are written). They commute: the insert reads neither the mismatch lookup nor writes it.
 */
async function supersede(
  client: pg.PoolClient,
  batch: ProjectionBatch,
  gathered: GatheredMismatches,
  early: boolean,
): Promise<void> {
  if (gathered.supersede.size === 0) return;
  const upTo = [JSON.stringify([...gathered.supersede.values()])];
  gathered.supersede.clear();
  const count = (rows: readonly MismatchRow[]): void => {
    for (const row of rows) countMismatch(batch, row, -1);
  };
  if (early) return sendAndRead<MismatchRow>(client, SUPERSEDE, upTo, (result) => count(result.rows));
  count((await client.query<MismatchRow>(SUPERSEDE, upTo)).rows);
}

interface MismatchRow {
  kind: string;
  position: string;
  day: string;
  worker_id: string;
  risk_level: string;
  tool_name: string;
  /** When it counts in the summary rollups: its execution's start, else its detection. */
  at: Date;
}

/** A mismatch starts (1) or stops (-1) counting: in `daily_summaries` and in the summary rollups. */
function countMismatch(batch: ProjectionBatch, row: MismatchRow, delta: number): void {
  const key = keyOf(row);
  bumpMismatches(batch, key, row.kind, delta);
  rollUpMismatch(batch, { ...key, at: row.at.toISOString() }, row.kind, delta);
}

const keyOf = (row: MismatchRow): DailyKey => ({
  day: row.day,
  workerId: row.worker_id,
  riskLevel: row.risk_level,
  toolName: row.tool_name,
});
