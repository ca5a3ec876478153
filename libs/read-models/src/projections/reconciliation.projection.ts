import type pg from 'pg';
import {
  APPROVAL_STREAM_PREFIX,
  assessCommandRisk,
  ExecutionReconciledData,
  MismatchDetectedData,
  MismatchReviewedData,
  ReconciliationUnclearData,
  SESSION_STREAM_PREFIX,
} from '@audit-ledger/domain';
import { type RecordedEvent } from '@audit-ledger/event-store';
import { inBatch, type Projection, type ProjectionBatch } from '../projection.js';
import { RECONCILIATION_LOCK_PREFIX } from './reconciliation-locks.js';
import { sendLater } from '../statement-queue.js';

const MISMATCHES = 'read_models.mismatches';
/** This projection's own state: the latest verdict per execution (and per approval for `approval_unused`). */
const VERDICTS = 'read_models.reconciliation_verdicts';
const APPROVALS = 'read_models.approvals';
const EXECUTIONS = 'read_models.executions';

/** The subject of an approval's `approval_unused` verdict (other verdicts are about an execution id). */
const APPROVAL_UNUSED = 'approval_unused';

/** Values of `executions.reconciliation_verdict` and `reconciliation_verdicts.verdict`. */
export const RECONCILIATION_VERDICTS = ['matched', 'mismatch', 'unclear'] as const;
export type ReconciliationVerdict = (typeof RECONCILIATION_VERDICTS)[number];

/**
 * `reconciliation`: `MismatchDetected` → a row of `mismatches`, `MismatchReviewed` → its review state, and the
 * verdicts' effect on the rows of other projections: `executions.reconciliation_verdict` / `reconciled_at`, and
 * `approvals.status` (`matched`, `mismatch`, `unclear`, `unused`) / `mismatch_count`.
 *
 * Exactly-once and replay-safe without counters: the projection keeps the latest verdict per execution in its own
 * table (`reconciliation_verdicts`, written only when the event's position is greater than the row's) and *derives*
 * the other tables' columns from its tables instead of incrementing them. `mismatch_count` is a count of the
 * approval's current mismatches, so applying an event twice cannot count it twice.
 *
 * Order-independent of the other projections (each has its own checkpoint, so a verdict may be projected before its
 * execution or grant is): the same derivation runs in triggers on `approvals` (insert and update) and `executions`
 * (insert), installed by this projection's migration, so a row written later picks up verdicts already projected.
 * A transaction-scoped advisory lock per stream, taken exclusive by `apply` and shared by the triggers (which only
 * read this projection's tables), closes the window where both transactions run at once and neither sees the other's
 * uncommitted row, without making the approvals and executions projections wait for each other. Hence this projection must come after
 * `approvals` and `executions` in the runner's list (its migration alters their tables).
 */
export const reconciliationProjection: Projection = {
  name: 'reconciliation',
  // 2: mismatches.kinds and mismatches.assessed_risk (migration 002).
  version: 2,
  handles: ['ExecutionReconciled', 'ReconciliationUnclear', 'MismatchDetected', 'MismatchReviewed'],
  filter: { streamPrefixes: [APPROVAL_STREAM_PREFIX, SESSION_STREAM_PREFIX] },
  // Writes the approvals' and executions' verdict columns too: rebuilt together with those projections.
  tables: ['mismatches', 'reconciliation_verdicts', 'approvals', 'executions'],
  migrations: [
    {
      id: '001-reconciliation',
      sql: `
        ALTER TABLE ${MISMATCHES}
          ADD COLUMN stream_id text,
          ADD COLUMN session_id text,
          ADD COLUMN risk_rules text[] NOT NULL DEFAULT '{}',
          ADD COLUMN reconciler_version text,
          ADD COLUMN superseded boolean NOT NULL DEFAULT false,
          ADD COLUMN review_event_id uuid;
        CREATE INDEX mismatches_stream_idx ON ${MISMATCHES} (stream_id, execution_id);
        CREATE INDEX mismatches_review_idx ON ${MISMATCHES} (review_state, detected_at);

        CREATE TABLE ${VERDICTS} (
          stream_id text NOT NULL,
          subject text NOT NULL,
          execution_id text,
          verdict text NOT NULL,
          kind text,
          reconciler_version text NOT NULL,
          event_id uuid NOT NULL,
          reconciled_at timestamptz NOT NULL,
          position bigint NOT NULL,
          PRIMARY KEY (stream_id, subject)
        );

        CREATE FUNCTION read_models.reconciliation_lock(stream text) RETURNS void LANGUAGE sql VOLATILE AS $$
          SELECT pg_advisory_xact_lock(hashtextextended('audit-ledger:reconciliation:' || stream, 0))
        $$;

        -- The approval's reconciliation status from its verdicts: a current mismatch wins, then unclear, then match;
        -- approval_unused only when nothing else is known. NULL: no verdict yet.
        CREATE FUNCTION read_models.reconciliation_approval_verdict(stream text) RETURNS text
          LANGUAGE sql STABLE AS $$
          SELECT CASE
            WHEN bool_or(verdict = 'mismatch' AND subject <> 'approval_unused') THEN 'mismatch'
            WHEN bool_or(verdict = 'unclear') THEN 'unclear'
            WHEN bool_or(verdict = 'matched') THEN 'matched'
            WHEN bool_or(subject = 'approval_unused') THEN 'unused'
          END
          FROM ${VERDICTS} WHERE stream_id = stream
        $$;

        CREATE FUNCTION read_models.reconciliation_on_approval() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
          agg text;
          base text;
        BEGIN
          PERFORM read_models.reconciliation_lock(NEW.stream_id);
          NEW.mismatch_count := (SELECT count(*) FROM ${MISMATCHES} WHERE stream_id = NEW.stream_id AND NOT superseded);
          agg := read_models.reconciliation_approval_verdict(NEW.stream_id);
          IF agg IS NULL AND NEW.status NOT IN ('matched', 'mismatch', 'unclear', 'unused') THEN
            RETURN NEW;
          END IF;
          -- Explicit decisions are never overwritten by a verdict.
          IF NEW.status IN ('rejected', 'revoked', 'expired') THEN
            RETURN NEW;
          END IF;
          -- What the approvals projection would say without reconciliation (see approvals.projection.ts).
          base := CASE WHEN NEW.granted_at IS NULL THEN 'unknown' ELSE 'pending' END;
          IF base = 'pending' AND NEW.expires_at IS NOT NULL
             AND NEW.expires_at < GREATEST(NEW.granted_at, NEW.last_execution_at) THEN
            base := 'expired';
          END IF;
          NEW.status := CASE WHEN base = 'expired' THEN base ELSE COALESCE(agg, base) END;
          RETURN NEW;
        END
        $$;
        CREATE TRIGGER approvals_reconciliation BEFORE INSERT OR UPDATE ON ${APPROVALS}
          FOR EACH ROW EXECUTE FUNCTION read_models.reconciliation_on_approval();

        CREATE FUNCTION read_models.reconciliation_on_execution() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
          v record;
        BEGIN
          PERFORM read_models.reconciliation_lock(NEW.stream_id);
          SELECT verdict, reconciled_at INTO v FROM ${VERDICTS}
            WHERE stream_id = NEW.stream_id AND subject = NEW.execution_id;
          IF FOUND THEN
            NEW.reconciliation_verdict := v.verdict;
            NEW.reconciled_at := v.reconciled_at;
          END IF;
          RETURN NEW;
        END
        $$;
        CREATE TRIGGER executions_reconciliation BEFORE INSERT ON ${EXECUTIONS}
          FOR EACH ROW EXECUTE FUNCTION read_models.reconciliation_on_execution();`,
    },
    {
      // The schema's name in the lock key: a rebuild runs this SQL with 'read_models.' rewritten to its shadow
      // schema, string literals included, so the shadow's copy takes locks of its own and never waits for (or
      // deadlocks with) the live workers. Same rows: no version bump.
      id: '002-lock-per-schema',
      sql: `
        CREATE OR REPLACE FUNCTION read_models.reconciliation_lock(stream text) RETURNS void LANGUAGE sql VOLATILE AS $$
          SELECT pg_advisory_xact_lock(hashtextextended('${RECONCILIATION_LOCK_PREFIX}' || stream, 0))
        $$;`,
    },
    {
      // The triggers only read this projection's tables; only apply() writes them. So the triggers take the stream's
      // lock shared and apply() exclusive: approvals and executions batches still wait for a verdict being written to
      // the same stream (and it for them), but no longer for each other. With both exclusive, the two projections'
      // batches (each holding the locks of every stream it touched until commit) serialised and deadlocked about
      // once per deadlock_timeout under a sustained load (docs/benchmarks.md, projection lag).
      id: '003-shared-trigger-locks',
      sql: `
        CREATE FUNCTION read_models.reconciliation_lock_shared(stream text) RETURNS void LANGUAGE sql VOLATILE AS $$
          SELECT pg_advisory_xact_lock_shared(hashtextextended('${RECONCILIATION_LOCK_PREFIX}' || stream, 0))
        $$;

        CREATE OR REPLACE FUNCTION read_models.reconciliation_on_approval() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
          agg text;
          base text;
        BEGIN
          PERFORM read_models.reconciliation_lock_shared(NEW.stream_id);
          NEW.mismatch_count := (SELECT count(*) FROM ${MISMATCHES} WHERE stream_id = NEW.stream_id AND NOT superseded);
          agg := read_models.reconciliation_approval_verdict(NEW.stream_id);
          IF agg IS NULL AND NEW.status NOT IN ('matched', 'mismatch', 'unclear', 'unused') THEN
            RETURN NEW;
          END IF;
          -- Explicit decisions are never overwritten by a verdict.
          IF NEW.status IN ('rejected', 'revoked', 'expired') THEN
            RETURN NEW;
          END IF;
          -- What the approvals projection would say without reconciliation (see approvals.projection.ts).
          base := CASE WHEN NEW.granted_at IS NULL THEN 'unknown' ELSE 'pending' END;
          IF base = 'pending' AND NEW.expires_at IS NOT NULL
             AND NEW.expires_at < GREATEST(NEW.granted_at, NEW.last_execution_at) THEN
            base := 'expired';
          END IF;
          NEW.status := CASE WHEN base = 'expired' THEN base ELSE COALESCE(agg, base) END;
          RETURN NEW;
        END
        $$;

        CREATE OR REPLACE FUNCTION read_models.reconciliation_on_execution() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
          v record;
        BEGIN
          PERFORM read_models.reconciliation_lock_shared(NEW.stream_id);
          SELECT verdict, reconciled_at INTO v FROM ${VERDICTS}
            WHERE stream_id = NEW.stream_id AND subject = NEW.execution_id;
          IF FOUND THEN
            NEW.reconciliation_verdict := v.verdict;
            NEW.reconciled_at := v.reconciled_at;
          END IF;
          RETURN NEW;
        END
        $$;`,
    },
    {
      // Every kind of a verdict (filtering by kind finds any of them) and the assessed risk of what ran.
      id: '002-kinds-assessed-risk',
      sql: `
        ALTER TABLE ${MISMATCHES}
          ADD COLUMN kinds text[] NOT NULL DEFAULT '{}',
          ADD COLUMN assessed_risk text;
        CREATE INDEX mismatches_kinds_idx ON ${MISMATCHES} USING gin (kinds);`,
    },
    {
      // The dashboard's live mismatches (issue 15): new rows after a global position, and by session.
      id: '004-dashboard-indexes',
      sql: `
        CREATE INDEX mismatches_position_idx ON ${MISMATCHES} (global_position);
        CREATE INDEX mismatches_session_idx ON ${MISMATCHES} (session_id, detected_at);`,
    },
  ],
  reconciliationLocks: {
    types: ['ExecutionReconciled', 'ReconciliationUnclear', 'MismatchDetected'],
    mode: 'exclusive',
  },
  // With the runner's batch, the runner took the streams' locks up front; the verdicts' writes to executions and
  // approvals are made once per batch, at its end (see verdict).
  apply: (client, event, runnerBatch) => {
    const locked = runnerBatch !== undefined;
    return inBatch(client, event, runnerBatch, async (batch) => {
      switch (event.type) {
        case 'ExecutionReconciled': {
          const data = ExecutionReconciledData.parse(event.data);
          if (!locked) await client.query('SELECT read_models.reconciliation_lock($1)', [event.streamId]);
          return gather(batch, event, data.executionId, 'matched', null, data.reconcilerVersion);
        }
        case 'ReconciliationUnclear': {
          const data = ReconciliationUnclearData.parse(event.data);
          if (!locked) await client.query('SELECT read_models.reconciliation_lock($1)', [event.streamId]);
          return gather(batch, event, data.executionId, 'unclear', data.kind ?? null, data.reconcilerVersion);
        }
        case 'MismatchDetected': {
          const data = MismatchDetectedData.parse(event.data);
          if (!locked) await client.query('SELECT read_models.reconciliation_lock($1)', [event.streamId]);
          gatherMismatch(batch, event, data);
          const subject = data.executionId ?? (data.kind === APPROVAL_UNUSED ? APPROVAL_UNUSED : null);
          if (subject === null) return refreshApproval(batch, event.streamId);
          return gather(batch, event, subject, 'mismatch', data.kind, data.reconcilerVersion);
        }
        case 'MismatchReviewed':
          // A review finds its mismatch's row: the gathered ones go first.
          await flushGathered(client, batch, gathered(batch));
          return reviewed(client, event, MismatchReviewedData.parse(event.data));
      }
    });
  },
};

interface GatheredMismatch {
  mismatch_id: string;
  approval_id: string | null;
  execution_id: string | null;
  kind: string;
  severity: string;
  explanation: string;
  approved: unknown;
  executed: unknown;
  detected_at: string;
  event_id: string;
  global_position: string;
  stream_id: string;
  session_id: string | null;
  risk_rules: string[];
  reconciler_version: string;
  kinds: string[];
  assessed_risk: string | null;
}

/** The batch's `MismatchDetected` rows not inserted yet, in event order (the first of a mismatch id wins). */
function gatheredMismatches(batch: ProjectionBatch): GatheredMismatch[] {
  return batch.deferred('reconciliation/mismatches', () => [] as GatheredMismatch[], flushMismatches);
}

function gatherMismatch(batch: ProjectionBatch, event: RecordedEvent, data: MismatchDetectedData): void {
  gatheredMismatches(batch).push({
    mismatch_id: data.mismatchId,
    approval_id: data.approvalId ?? approvalIdOf(event.streamId),
    execution_id: data.executionId ?? null,
    kind: data.kind,
    severity: data.severity,
    explanation: data.explanation,
    approved: data.approved,
    executed: data.executed ?? null,
    detected_at: event.recordedAt.toISOString(),
    event_id: event.eventId,
    global_position: event.globalPosition.toString(),
    stream_id: event.streamId,
    session_id: data.sessionId ?? null,
    risk_rules: data.riskRules ?? [],
    reconciler_version: data.reconcilerVersion,
    // older events have one kind and no assessment: `[kind]`, and the command assessed as the current model does
    kinds: data.kinds ?? [data.kind],
    assessed_risk: data.assessedRisk ?? (data.executed ? assessCommandRisk(data.executed.command) : null),
  });
}

async function flushMismatches(client: pg.PoolClient, pending: GatheredMismatch[]): Promise<void> {
  if (pending.length === 0) return;
  const rows = pending.splice(0);
  await sendLater(
    client,
    `INSERT INTO ${MISMATCHES} (mismatch_id, approval_id, execution_id, kind, severity, explanation, approved,
        executed, detected_at, event_id, global_position, stream_id, session_id, risk_rules, reconciler_version,
        kinds, assessed_risk)
     SELECT mismatch_id, approval_id, execution_id, kind, severity, explanation, approved, executed, detected_at,
            event_id, global_position, stream_id, session_id, risk_rules, reconciler_version, kinds, assessed_risk
       FROM jsonb_to_recordset($1::jsonb) AS r(mismatch_id text, approval_id text, execution_id text, kind text,
            severity text, explanation text, approved jsonb, executed jsonb, detected_at timestamptz, event_id uuid,
            global_position bigint, stream_id text, session_id text, risk_rules text[], reconciler_version text,
            kinds text[], assessed_risk text)
      ORDER BY global_position
     ON CONFLICT (mismatch_id) DO NOTHING`,
    [JSON.stringify(rows)],
  );
}

interface GatheredVerdict {
  stream_id: string;
  /** An execution id, or `approval_unused`. */
  subject: string;
  execution_id: string | null;
  verdict: ReconciliationVerdict;
  kind: string | null;
  reconciler_version: string;
  event_id: string;
  reconciled_at: string;
  position: string;
}

/** The batch's `ExecutionReconciled`/`ReconciliationUnclear` verdicts not recorded yet: the latest per subject. */
function gathered(batch: ProjectionBatch): Map<string, GatheredVerdict> {
  return batch.deferred(
    'reconciliation/verdicts',
    () => new Map<string, GatheredVerdict>(),
    (client, pending) => flushGathered(client, batch, pending),
  );
}

function gather(
  batch: ProjectionBatch,
  event: RecordedEvent,
  subject: string,
  value: ReconciliationVerdict,
  kind: string | null,
  reconcilerVersion: string,
): void {
  const pending = gathered(batch);
  const key = JSON.stringify([event.streamId, subject]);
  // A later verdict about the same subject replaces an earlier one of the batch: of the two, only it would stay
  // recorded, and it supersedes the mismatches the earlier one would have.
  pending.delete(key);
  pending.set(key, {
    stream_id: event.streamId,
    subject,
    execution_id: subject === APPROVAL_UNUSED ? null : subject,
    verdict: value,
    kind,
    reconciler_version: reconcilerVersion,
    event_id: event.eventId,
    reconciled_at: event.recordedAt.toISOString(),
    position: event.globalPosition.toString(),
  });
}

/**
 * Records the gathered verdicts in one statement: each unless a later one about its subject is recorded already (the
 * position guard), and marks superseded the earlier mismatches of each subject whose verdict was recorded (a re-run
 * with a newer reconciler changed it): the execution's, or for `approval_unused` the approval's unused ones. The
 * gathered mismatch rows are inserted first, so a verdict later in the batch supersedes them too. The execution's
 * verdict columns and the approval's derivation follow at the end of the batch, once per row (nothing in the batch
 * reads them; the approval's is re-derived from this projection's tables as they are then).
 */
async function flushGathered(
  client: pg.PoolClient,
  batch: ProjectionBatch,
  pending: Map<string, GatheredVerdict>,
): Promise<void> {
  await flushMismatches(client, gatheredMismatches(batch));
  if (pending.size === 0) return;
  const verdicts = [...pending.values()];
  pending.clear();
  const { rows } = await client.query<{ stream_id: string; subject: string }>(
    `WITH r AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(stream_id text, subject text, execution_id text, verdict text,
         kind text, reconciler_version text, event_id uuid, reconciled_at timestamptz, position bigint)
     ), v AS (
       INSERT INTO ${VERDICTS} AS v (stream_id, subject, execution_id, verdict, kind, reconciler_version, event_id,
          reconciled_at, position)
       SELECT stream_id, subject, execution_id, verdict, kind, reconciler_version, event_id, reconciled_at, position
         FROM r ORDER BY stream_id, subject
       ON CONFLICT (stream_id, subject) DO UPDATE SET
         execution_id = EXCLUDED.execution_id, verdict = EXCLUDED.verdict, kind = EXCLUDED.kind,
         reconciler_version = EXCLUDED.reconciler_version, event_id = EXCLUDED.event_id,
         reconciled_at = EXCLUDED.reconciled_at, position = EXCLUDED.position
       WHERE v.position < EXCLUDED.position
       RETURNING stream_id, subject, execution_id, position
     ), superseded AS (
       UPDATE ${MISMATCHES} m SET superseded = true
         FROM v
        WHERE m.stream_id = v.stream_id AND m.global_position < v.position AND NOT m.superseded
          AND CASE WHEN v.execution_id IS NULL THEN m.kind = '${APPROVAL_UNUSED}' ELSE m.execution_id = v.execution_id END
     )
     SELECT stream_id, subject FROM v`,
    [JSON.stringify(verdicts)],
  );
  const recorded = new Set(rows.map((row) => JSON.stringify([row.stream_id, row.subject])));
  for (const v of verdicts) {
    if (!recorded.has(JSON.stringify([v.stream_id, v.subject]))) continue; // a later one is recorded already
    if (v.execution_id !== null) {
      setExecutionVerdict(batch, {
        stream_id: v.stream_id,
        execution_id: v.execution_id,
        verdict: v.verdict,
        at: new Date(v.reconciled_at),
      });
    }
    refreshApproval(batch, v.stream_id);
  }
}

function setExecutionVerdict(batch: ProjectionBatch, verdict: ExecutionVerdict): void {
  batch
    .deferred('reconciliation/executions', () => new Map<string, ExecutionVerdict>(), flushVerdicts)
    .set(verdict.execution_id, verdict);
}

interface ExecutionVerdict {
  stream_id: string;
  execution_id: string;
  verdict: ReconciliationVerdict;
  at: Date;
}

/** The latest verdict of each execution the batch reconciled, on its row. */
async function flushVerdicts(client: pg.PoolClient, verdicts: Map<string, ExecutionVerdict>): Promise<void> {
  if (verdicts.size === 0) return;
  const rows = [...verdicts.values()].sort((a, b) => (a.execution_id < b.execution_id ? -1 : 1));
  await sendLater(
    client,
    `UPDATE ${EXECUTIONS} AS e SET reconciliation_verdict = r.verdict, reconciled_at = r.at
       FROM jsonb_to_recordset($1::jsonb) AS r(stream_id text, execution_id text, verdict text, at timestamptz)
      WHERE e.execution_id = r.execution_id AND e.stream_id = r.stream_id`,
    [JSON.stringify(rows)],
  );
}

/** Fires the approvals trigger at the end of the batch, which re-derives `status` and `mismatch_count`. */
function refreshApproval(batch: ProjectionBatch, streamId: string): void {
  const approvalId = approvalIdOf(streamId);
  if (approvalId === null) return;
  batch.deferred('reconciliation/approvals', () => new Set<string>(), flushApprovals).add(approvalId);
}

async function flushApprovals(client: pg.PoolClient, approvalIds: Set<string>): Promise<void> {
  if (approvalIds.size === 0) return;
  await sendLater(
    client,
    `UPDATE ${APPROVALS} SET status = status
      WHERE approval_id IN (SELECT id FROM unnest($1::text[]) AS id ORDER BY id)`,
    [[...approvalIds].sort()],
  );
}

async function reviewed(client: pg.PoolClient, event: RecordedEvent, data: MismatchReviewedData): Promise<void> {
  // The review endpoint accepts one review per mismatch; the first one recorded wins here too.
  await sendLater(
    client,
    `UPDATE ${MISMATCHES} SET review_state = 'reviewed', reviewer = $2, resolution = $3, review_note = $4,
        reviewed_at = $5, review_event_id = $6
      WHERE mismatch_id = $1 AND review_state = 'open'`,
    [data.mismatchId, data.reviewer, data.resolution, data.note ?? null, data.reviewedAt, event.eventId],
  );
}

function approvalIdOf(streamId: string): string | null {
  return streamId.startsWith(APPROVAL_STREAM_PREFIX) ? streamId.slice(APPROVAL_STREAM_PREFIX.length) : null;
}
