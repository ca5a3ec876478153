import type pg from 'pg';
import {
  APPROVAL_STREAM_PREFIX,
  ApprovalGrantedData,
  ApprovalRejectedData,
  ApprovalRevokedData,
  ExecutionLoggedData,
  SESSION_STREAM_PREFIX,
} from '@audit-ledger/domain';
import { type RecordedEvent } from '@audit-ledger/event-store';
import { type Projection } from '../projection.js';

const EXECUTIONS = 'read_models.executions';
const DAILY = 'read_models.daily_summaries';
const SESSIONS = 'read_models.session_summaries';
/** Private to this projection: what it needs to know of an approval when one of its executions arrives. */
const LOOKUP = 'read_models.executions_approval_lookup';

/** Risk level of an execution with no approval id (a `session-` stream action). */
export const NO_APPROVAL_RISK = 'none';
/** Risk level when the approval id is known but no grant has been seen (yet). */
export const UNKNOWN_RISK = 'unknown';

/**
 * `executions`, `daily_summaries` and `session_summaries`, in one projection so that the summaries count an
 * execution exactly when its row is inserted: executions are keyed by execution id (`ON CONFLICT DO NOTHING`), and
 * the summary increments run only when that insert happened. Approval counts in the daily summaries are guarded the
 * same way by the lookup table's flags.
 */
export const executionsProjection: Projection = {
  name: 'executions',
  version: 1,
  handles: ['ApprovalGranted', 'ApprovalRejected', 'ApprovalRevoked', 'ExecutionLogged'],
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
  ],
  async apply(client, event) {
    switch (event.type) {
      case 'ApprovalGranted':
        return granted(client, ApprovalGrantedData.parse(event.data));
      case 'ApprovalRejected': {
        const data = ApprovalRejectedData.parse(event.data);
        return ended(client, data.approvalId, 'rejected', data.rejectedAt);
      }
      case 'ApprovalRevoked': {
        const data = ApprovalRevokedData.parse(event.data);
        return ended(client, data.approvalId, 'revoked', data.revokedAt);
      }
      case 'ExecutionLogged':
        return executed(client, event, ExecutionLoggedData.parse(event.data));
    }
  },
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

type DailyCounter =
  | 'executions'
  | 'successes'
  | 'failures'
  | 'total_duration_ms'
  | 'approvals_approved'
  | 'approvals_auto'
  | 'approvals_rejected'
  | 'approvals_revoked';

interface DailyKey {
  day: string;
  workerId: string;
  riskLevel: string;
  toolName: string;
}

async function bumpDaily(
  client: pg.PoolClient,
  key: DailyKey,
  deltas: Partial<Record<DailyCounter, number>>,
): Promise<void> {
  const columns = Object.keys(deltas) as DailyCounter[];
  const values = columns.map((c) => deltas[c] ?? 0);
  await client.query(
    `INSERT INTO ${DAILY} AS s (day, worker_id, risk_level, tool_name, ${columns.join(', ')})
     VALUES ($1, $2, $3, $4, ${columns.map((_, i) => `$${i + 5}`).join(', ')})
     ON CONFLICT (day, worker_id, risk_level, tool_name) DO UPDATE SET
       ${columns.map((c) => `${c} = s.${c} + EXCLUDED.${c}`).join(', ')}`,
    [key.day, key.workerId, key.riskLevel, key.toolName, ...values],
  );
}

async function granted(client: pg.PoolClient, data: ApprovalGrantedData): Promise<void> {
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
  await bumpDaily(
    client,
    { day: day(data.grantedAt), workerId: data.requestedBy.workerId ?? '', riskLevel: data.riskLevel, toolName: '' },
    data.decision === 'auto' ? { approvals_auto: 1 } : { approvals_approved: 1 },
  );
}

async function ended(
  client: pg.PoolClient,
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
  await bumpDaily(
    client,
    { day: day(at), workerId: row.worker_id ?? '', riskLevel: row.risk_level ?? UNKNOWN_RISK, toolName: '' },
    how === 'rejected' ? { approvals_rejected: 1 } : { approvals_revoked: 1 },
  );
}

async function executed(client: pg.PoolClient, event: RecordedEvent, data: ExecutionLoggedData): Promise<void> {
  let approval: LookupRow | undefined;
  if (data.approvalId) {
    const { rows } = await client.query<LookupRow>(
      `SELECT risk_level, worker_id, session_id, granted, rejected, revoked FROM ${LOOKUP} WHERE approval_id = $1`,
      [data.approvalId],
    );
    approval = rows[0];
  }
  const riskLevel = data.approvalId ? (approval?.risk_level ?? UNKNOWN_RISK) : NO_APPROVAL_RISK;
  const { rowCount } = await client.query(
    `INSERT INTO ${EXECUTIONS} (execution_id, approval_id, session_id, worker_id, tool_name, command, exit_code,
        started_at, finished_at, duration_ms, token_hash, output_sha256, output_bytes, output_truncated, artifacts,
        risk_level, event_id, stream_id, stream_revision, global_position, recorded_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
     ON CONFLICT (execution_id) DO NOTHING`,
    [
      data.executionId,
      data.approvalId ?? null,
      data.sessionId ?? null,
      data.workerId,
      data.toolName,
      data.command,
      data.exitCode,
      data.startedAt,
      data.finishedAt,
      data.durationMs,
      data.tokenHash ?? null,
      data.output.sha256,
      data.output.bytes,
      data.output.truncated,
      JSON.stringify(data.artifacts),
      riskLevel,
      event.eventId,
      event.streamId,
      event.streamRevision,
      event.globalPosition.toString(),
      event.recordedAt,
    ],
  );
  if (rowCount !== 1) return; // already projected: count nothing twice
  const success = data.exitCode === 0;
  await bumpDaily(
    client,
    { day: day(data.startedAt), workerId: data.workerId, riskLevel, toolName: data.toolName },
    {
      executions: 1,
      successes: success ? 1 : 0,
      failures: success ? 0 : 1,
      total_duration_ms: data.durationMs,
    },
  );
  const sessionId = data.sessionId ?? approval?.session_id ?? undefined;
  if (!sessionId) return;
  const isApproved = approval?.granted === true && !approval.rejected && !approval.revoked;
  const isRejected = approval?.rejected === true || approval?.revoked === true;
  const riskColumn = `risk_${['safe', 'moderate', 'destructive', 'critical'].includes(riskLevel) ? riskLevel : 'none'}`;
  await client.query(
    `INSERT INTO ${SESSIONS} AS s (session_id, total_actions, ${riskColumn}, approved, rejected, successful, failed,
        total_duration_ms, first_action_at, last_action_at)
     VALUES ($1, 1, 1, $2, $3, $4, $5, $6, $7, $7)
     ON CONFLICT (session_id) DO UPDATE SET
       total_actions = s.total_actions + 1, ${riskColumn} = s.${riskColumn} + 1,
       approved = s.approved + EXCLUDED.approved, rejected = s.rejected + EXCLUDED.rejected,
       successful = s.successful + EXCLUDED.successful, failed = s.failed + EXCLUDED.failed,
       total_duration_ms = s.total_duration_ms + EXCLUDED.total_duration_ms,
       first_action_at = LEAST(s.first_action_at, EXCLUDED.first_action_at),
       last_action_at = GREATEST(s.last_action_at, EXCLUDED.last_action_at)`,
    [
      sessionId,
      isApproved ? 1 : 0,
      isRejected ? 1 : 0,
      success ? 1 : 0,
      success ? 0 : 1,
      data.durationMs,
      data.startedAt,
    ],
  );
}
