import type pg from 'pg';
import {
  APPROVAL_STREAM_PREFIX,
  approverVerifiedOf,
  ApprovalGrantedData,
  ApprovalRejectedData,
  ApprovalRevokedData,
  ExecutionLoggedData,
  grantOccurredAt,
  revocationOccurredAt,
} from '@audit-ledger/domain';
import { type RecordedEvent } from '@audit-ledger/event-store';
import { inBatch, type Projection, type ProjectionBatch } from '../projection.js';
import { sendLater } from '../statement-queue.js';

/**
 * Statuses of `read_models.approvals.status`. `unknown`: executions were logged against the approval id but no grant
 * or rejection has been seen. `matched`, `mismatch`, `unclear` and `unused` are set by reconciliation events (a later
 * issue): see `reconciliationStatus`.
 */
export const APPROVAL_STATUSES = [
  'pending',
  'matched',
  'mismatch',
  'unclear',
  'unused',
  'rejected',
  'revoked',
  'expired',
  'unknown',
] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

/**
 * Hook for the reconciliation events: the status an approval moves to on a verdict. Explicit decisions (rejected,
 * revoked) and expiry are never overwritten by a verdict; a mismatch overrides a match.
 */
export function reconciliationStatus(
  current: ApprovalStatus,
  verdict: 'matched' | 'mismatch' | 'unclear' | 'unused',
): ApprovalStatus {
  if (current === 'rejected' || current === 'revoked' || current === 'expired') return current;
  if (current === 'mismatch') return current;
  return verdict;
}

const T = 'read_models.approvals';
const HANDLES = ['ApprovalGranted', 'ApprovalRejected', 'ApprovalRevoked', 'ExecutionLogged'];

/**
 * `approvals`: one row per approval id. Every write is guarded by `position < <event position>`, so replaying an
 * event that is already reflected in the row changes nothing (on top of the runner's exactly-once checkpoint).
 */
export const approvalsProjection: Projection = {
  name: 'approvals',
  // 2: the decisions' occurrence times and how long the human took (`requested_at`, `approval_time_ms`, …).
  version: 2,
  handles: HANDLES,
  filter: { streamPrefixes: [APPROVAL_STREAM_PREFIX] },
  migrations: [
    {
      id: '001-approvals',
      sql: `
        CREATE TABLE ${T} (
          approval_id text PRIMARY KEY,
          stream_id text NOT NULL,
          instruction text,
          approved_commands text[] NOT NULL DEFAULT '{}',
          scope jsonb,
          risk_level text,
          decision text,
          approved_by text,
          requested_by_agent text,
          requested_by_worker text,
          requested_by_session text,
          max_executions integer,
          token_hash text,
          granted_at timestamptz,
          expires_at timestamptz,
          created_at timestamptz NOT NULL,
          status text NOT NULL,
          rejected_by text,
          rejected_at timestamptz,
          rejection_reason text,
          revoked_by text,
          revoked_at timestamptz,
          revocation_reason text,
          execution_count integer NOT NULL DEFAULT 0,
          first_execution_at timestamptz,
          last_execution_at timestamptz,
          mismatch_count integer NOT NULL DEFAULT 0,
          last_event_at timestamptz NOT NULL,
          position bigint NOT NULL
        );
        CREATE INDEX approvals_created_idx ON ${T} (created_at, approval_id);
        CREATE INDEX approvals_status_idx ON ${T} (status, created_at);
        CREATE INDEX approvals_risk_idx ON ${T} (risk_level, created_at);
        CREATE INDEX approvals_worker_idx ON ${T} (requested_by_worker, created_at);
        CREATE INDEX approvals_session_idx ON ${T} (requested_by_session, created_at);`,
    },
    {
      // Issue 11: whether `approved_by` is the verified subject of the approver's own assertion. Grants recorded
      // before proofs existed are unproven, which the default says: no rebuild needed.
      id: '002-approver-verified',
      sql: `
        ALTER TABLE ${T} ADD COLUMN approver_verified boolean NOT NULL DEFAULT false,
          ADD COLUMN approver_assertion_hash text;
        CREATE INDEX approvals_approver_verified_idx ON ${T} (approver_verified, created_at);`,
    },
    {
      // When things happened (the gateway's occurredAt; older events: their recorded time) beside when they were
      // recorded (granted_at, revoked_at), and how long the human took to approve (the grant's occurrence minus
      // requestedAt, when the gateway sent it).
      id: '003-approval-timing',
      sql: `
        ALTER TABLE ${T}
          ADD COLUMN requested_at timestamptz,
          ADD COLUMN granted_occurred_at timestamptz,
          ADD COLUMN approval_time_ms bigint,
          ADD COLUMN rejected_occurred_at timestamptz,
          ADD COLUMN revoked_occurred_at timestamptz;
        CREATE INDEX approvals_granted_occurred_idx ON ${T} (granted_occurred_at) WHERE approval_time_ms IS NOT NULL;`,
    },
  ],
  // Every event it handles writes the approval's row, whose reconciliation trigger takes the stream's lock shared.
  reconciliationLocks: { types: HANDLES, mode: 'shared' },
  apply: (client, event, batch) =>
    inBatch(client, event, batch, async (b) => {
      if (event.type === 'ExecutionLogged') return executed(b, event, ExecutionLoggedData.parse(event.data));
      // The executions gathered so far go first: they come before this event.
      await flushExecutions(client, executionsOf(b));
      switch (event.type) {
        case 'ApprovalGranted':
          return granted(client, event, ApprovalGrantedData.parse(event.data));
        case 'ApprovalRejected':
          return rejected(client, event, ApprovalRejectedData.parse(event.data));
        case 'ApprovalRevoked':
          return revoked(client, event, ApprovalRevokedData.parse(event.data));
      }
    }),
};

async function granted(client: pg.PoolClient, event: RecordedEvent, data: ApprovalGrantedData): Promise<void> {
  await sendLater(
    client,
    `INSERT INTO ${T} AS a (approval_id, stream_id, instruction, approved_commands, scope, risk_level, decision,
        approved_by, requested_by_agent, requested_by_worker, requested_by_session, max_executions, token_hash,
        granted_at, expires_at, created_at, status, last_event_at, position, approver_verified, approver_assertion_hash,
        requested_at, granted_occurred_at, approval_time_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $14, 'pending', $14, $16, $17, $18,
        $19, $20, $21)
     ON CONFLICT (approval_id) DO UPDATE SET
        instruction = EXCLUDED.instruction, approved_commands = EXCLUDED.approved_commands, scope = EXCLUDED.scope,
        risk_level = EXCLUDED.risk_level, decision = EXCLUDED.decision, approved_by = EXCLUDED.approved_by,
        approver_verified = EXCLUDED.approver_verified, approver_assertion_hash = EXCLUDED.approver_assertion_hash,
        requested_by_agent = EXCLUDED.requested_by_agent, requested_by_worker = EXCLUDED.requested_by_worker,
        requested_by_session = EXCLUDED.requested_by_session, max_executions = EXCLUDED.max_executions,
        token_hash = EXCLUDED.token_hash, granted_at = EXCLUDED.granted_at, expires_at = EXCLUDED.expires_at,
        requested_at = EXCLUDED.requested_at, granted_occurred_at = EXCLUDED.granted_occurred_at,
        approval_time_ms = EXCLUDED.approval_time_ms,
        created_at = LEAST(a.created_at, EXCLUDED.created_at),
        status = CASE WHEN a.status = 'unknown' THEN 'pending' ELSE a.status END,
        last_event_at = GREATEST(a.last_event_at, EXCLUDED.last_event_at), position = EXCLUDED.position
      WHERE a.position < EXCLUDED.position`,
    [
      data.approvalId,
      event.streamId,
      data.instruction,
      data.approvedCommands,
      data.scope ?? null,
      data.riskLevel,
      data.decision,
      data.approvedBy,
      data.requestedBy.agentId ?? null,
      data.requestedBy.workerId ?? null,
      data.requestedBy.sessionId ?? null,
      data.maxExecutions ?? null,
      data.tokenHash ?? null,
      data.grantedAt,
      data.expiresAt ?? null,
      event.globalPosition.toString(),
      approverVerifiedOf(data),
      data.approverAssertionHash ?? null,
      data.requestedAt ?? null,
      grantOccurredAt(data),
      approvalTimeMs(data),
    ],
  );
  await expireIfPast(client, data.approvalId, data.grantedAt);
}

async function rejected(client: pg.PoolClient, event: RecordedEvent, data: ApprovalRejectedData): Promise<void> {
  await sendLater(
    client,
    `INSERT INTO ${T} AS a (approval_id, stream_id, instruction, decision, status, rejected_by, rejected_at,
        rejection_reason, created_at, last_event_at, position, rejected_occurred_at, requested_at)
     VALUES ($1, $2, $3, 'rejected', 'rejected', $4, $5, $6, $5, $5, $7, $8, $9)
     ON CONFLICT (approval_id) DO UPDATE SET
        instruction = COALESCE(a.instruction, EXCLUDED.instruction), decision = COALESCE(a.decision, 'rejected'),
        status = 'rejected', rejected_by = EXCLUDED.rejected_by, rejected_at = EXCLUDED.rejected_at,
        rejection_reason = EXCLUDED.rejection_reason, rejected_occurred_at = EXCLUDED.rejected_occurred_at,
        requested_at = COALESCE(a.requested_at, EXCLUDED.requested_at),
        last_event_at = GREATEST(a.last_event_at, EXCLUDED.last_event_at), position = EXCLUDED.position
      WHERE a.position < EXCLUDED.position`,
    [
      data.approvalId,
      event.streamId,
      data.instruction ?? null,
      data.by,
      data.rejectedAt,
      data.reason,
      event.globalPosition.toString(),
      data.occurredAt ?? data.rejectedAt,
      data.requestedAt ?? null,
    ],
  );
}

async function revoked(client: pg.PoolClient, event: RecordedEvent, data: ApprovalRevokedData): Promise<void> {
  await sendLater(
    client,
    `INSERT INTO ${T} AS a (approval_id, stream_id, status, revoked_by, revoked_at, revocation_reason, created_at,
        last_event_at, position, revoked_occurred_at)
     VALUES ($1, $2, 'revoked', $3, $4, $5, $4, $4, $6, $7)
     ON CONFLICT (approval_id) DO UPDATE SET
        status = CASE WHEN a.status = 'rejected' THEN a.status ELSE 'revoked' END,
        revoked_by = EXCLUDED.revoked_by, revoked_at = EXCLUDED.revoked_at,
        revocation_reason = EXCLUDED.revocation_reason, revoked_occurred_at = EXCLUDED.revoked_occurred_at,
        last_event_at = GREATEST(a.last_event_at, EXCLUDED.last_event_at), position = EXCLUDED.position
      WHERE a.position < EXCLUDED.position`,
    [
      data.approvalId,
      event.streamId,
      data.by,
      data.revokedAt,
      data.reason,
      event.globalPosition.toString(),
      revocationOccurredAt(data),
    ],
  );
}

/** How long the human took: from the gateway's request to the grant, as they happened; null without `requestedAt`. */
function approvalTimeMs(data: ApprovalGrantedData): number | null {
  if (data.requestedAt === undefined) return null;
  return Math.max(0, Date.parse(grantOccurredAt(data)) - Date.parse(data.requestedAt));
}

interface Executions {
  approval_id: string;
  stream_id: string;
  count: number;
  /** Every execution's start (the first and last execution are their least and greatest). */
  started: string[];
  position: string;
}

/**
 * The batch's executions per approval, written as one update per approval (at the end of the batch, or before the
 * next other event about approvals): the same row as one upsert per execution, since the count adds up, first and
 * last execution are a least and greatest, and an expiry before any of them expires the approval.
 */
function executionsOf(batch: ProjectionBatch): Map<string, Executions> {
  return batch.deferred('approvals/executions', () => new Map<string, Executions>(), flushExecutions);
}

function executed(batch: ProjectionBatch, event: RecordedEvent, data: ExecutionLoggedData): void {
  if (!data.approvalId) return;
  const pending = executionsOf(batch);
  let row = pending.get(data.approvalId);
  if (!row) {
    row = { approval_id: data.approvalId, stream_id: event.streamId, count: 0, started: [], position: '0' };
    pending.set(data.approvalId, row);
  }
  row.count += 1;
  row.started.push(data.startedAt);
  row.position = event.globalPosition.toString();
}

async function flushExecutions(client: pg.PoolClient, pending: Map<string, Executions>): Promise<void> {
  if (pending.size === 0) return;
  const rows = [...pending.values()];
  pending.clear();
  // Guarded per row by its position like every write here; a pending approval whose expiry lies before an execution
  // under it expired (as expireIfPast). A new row's created_at is its first execution's start, in event order.
  await sendLater(
    client,
    `INSERT INTO ${T} AS a (approval_id, stream_id, status, execution_count, first_execution_at, last_execution_at,
        created_at, last_event_at, position)
     SELECT approval_id, stream_id, 'unknown', count, first_at, last_at, (started ->> 0)::timestamptz, last_at, position
       FROM (SELECT approval_id, stream_id, count, position, started,
                    (SELECT min(t::timestamptz) FROM jsonb_array_elements_text(started) t) AS first_at,
                    (SELECT max(t::timestamptz) FROM jsonb_array_elements_text(started) t) AS last_at
               FROM jsonb_to_recordset($1::jsonb)
                 AS r(approval_id text, stream_id text, count integer, started jsonb, position bigint)) x
      ORDER BY approval_id
     ON CONFLICT (approval_id) DO UPDATE SET
        execution_count = a.execution_count + EXCLUDED.execution_count,
        first_execution_at = LEAST(a.first_execution_at, EXCLUDED.first_execution_at),
        last_execution_at = GREATEST(a.last_execution_at, EXCLUDED.last_execution_at),
        last_event_at = GREATEST(a.last_event_at, EXCLUDED.last_event_at), position = EXCLUDED.position,
        status = CASE WHEN a.status = 'pending' AND a.expires_at < EXCLUDED.last_execution_at THEN 'expired'
                      ELSE a.status END
      WHERE a.position < EXCLUDED.position`,
    [JSON.stringify(rows)],
  );
}

/** A pending approval whose expiry lies before the time of an event about it (or an execution under it) expired. */
async function expireIfPast(client: pg.PoolClient, approvalId: string, at: string): Promise<void> {
  await sendLater(
    client,
    `UPDATE ${T} SET status = 'expired' WHERE approval_id = $1 AND status = 'pending' AND expires_at < $2`,
    [approvalId, at],
  );
}
