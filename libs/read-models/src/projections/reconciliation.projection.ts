import type pg from 'pg';
import {
  APPROVAL_STREAM_PREFIX,
  ExecutionReconciledData,
  MismatchDetectedData,
  MismatchReviewedData,
  ReconciliationUnclearData,
  SESSION_STREAM_PREFIX,
} from '@audit-ledger/domain';
import { type RecordedEvent } from '@audit-ledger/event-store';
import { type Projection } from '../projection.js';

const MISMATCHES = 'read_models.mismatches';
/** This projection's own state: the latest verdict per execution (and per approval for `approval_unused`). */
const VERDICTS = 'read_models.reconciliation_verdicts';
const APPROVALS = 'read_models.approvals';
const EXECUTIONS = 'read_models.executions';

/** Values of `executions.reconciliation_verdict` and `reconciliation_verdicts.verdict`. */
export type ReconciliationVerdict = 'matched' | 'mismatch' | 'unclear';

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
 * A transaction-scoped advisory lock per stream, taken by the triggers and by `apply`, closes the window where both
 * transactions run at once and neither sees the other's uncommitted row. Hence this projection must come after
 * `approvals` and `executions` in the runner's list (its migration alters their tables).
 */
export const reconciliationProjection: Projection = {
  name: 'reconciliation',
  version: 1,
  handles: ['ExecutionReconciled', 'ReconciliationUnclear', 'MismatchDetected', 'MismatchReviewed'],
  filter: { streamPrefixes: [APPROVAL_STREAM_PREFIX, SESSION_STREAM_PREFIX] },
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
  ],
  async apply(client, event) {
    switch (event.type) {
      case 'ExecutionReconciled': {
        const data = ExecutionReconciledData.parse(event.data);
        return verdict(client, event, data.executionId, 'matched', null, data.reconcilerVersion);
      }
      case 'ReconciliationUnclear': {
        const data = ReconciliationUnclearData.parse(event.data);
        return verdict(client, event, data.executionId, 'unclear', data.kind ?? null, data.reconcilerVersion);
      }
      case 'MismatchDetected': {
        const data = MismatchDetectedData.parse(event.data);
        await client.query('SELECT read_models.reconciliation_lock($1)', [event.streamId]);
        await mismatch(client, event, data);
        const subject = data.executionId ?? (data.kind === 'approval_unused' ? 'approval_unused' : null);
        if (subject === null) return refreshApproval(client, event.streamId);
        return verdict(client, event, subject, 'mismatch', data.kind, data.reconcilerVersion);
      }
      case 'MismatchReviewed':
        return reviewed(client, event, MismatchReviewedData.parse(event.data));
    }
  },
};

async function mismatch(client: pg.PoolClient, event: RecordedEvent, data: MismatchDetectedData): Promise<void> {
  await client.query(
    `INSERT INTO ${MISMATCHES} (mismatch_id, approval_id, execution_id, kind, severity, explanation, approved,
        executed, detected_at, event_id, global_position, stream_id, session_id, risk_rules, reconciler_version)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
     ON CONFLICT (mismatch_id) DO NOTHING`,
    [
      data.mismatchId,
      data.approvalId ?? approvalIdOf(event.streamId),
      data.executionId ?? null,
      data.kind,
      data.severity,
      data.explanation,
      JSON.stringify(data.approved),
      data.executed ? JSON.stringify(data.executed) : null,
      event.recordedAt,
      event.eventId,
      event.globalPosition.toString(),
      event.streamId,
      data.sessionId ?? null,
      data.riskRules ?? [],
      data.reconcilerVersion,
    ],
  );
}

/**
 * Records `verdict` as the latest for `subject` (an execution id, or `approval_unused`) unless a later one is
 * already recorded, marks the subject's earlier mismatches superseded (a re-run with a newer reconciler changed the
 * verdict), and re-derives the execution's and the approval's columns.
 */
async function verdict(
  client: pg.PoolClient,
  event: RecordedEvent,
  subject: string,
  value: ReconciliationVerdict,
  kind: string | null,
  reconcilerVersion: string,
): Promise<void> {
  const position = event.globalPosition.toString();
  await client.query('SELECT read_models.reconciliation_lock($1)', [event.streamId]);
  const { rowCount } = await client.query(
    `INSERT INTO ${VERDICTS} AS v (stream_id, subject, execution_id, verdict, kind, reconciler_version, event_id,
        reconciled_at, position)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (stream_id, subject) DO UPDATE SET
       execution_id = EXCLUDED.execution_id, verdict = EXCLUDED.verdict, kind = EXCLUDED.kind,
       reconciler_version = EXCLUDED.reconciler_version, event_id = EXCLUDED.event_id,
       reconciled_at = EXCLUDED.reconciled_at, position = EXCLUDED.position
     WHERE v.position < EXCLUDED.position`,
    [
      event.streamId,
      subject,
      subject === 'approval_unused' ? null : subject,
      value,
      kind,
      reconcilerVersion,
      event.eventId,
      event.recordedAt,
      position,
    ],
  );
  if (rowCount !== 1) return; // a later verdict is already recorded: this one changes nothing
  const unused = subject === 'approval_unused';
  await client.query(
    `UPDATE ${MISMATCHES} SET superseded = true
      WHERE stream_id = $1 AND global_position < $2 AND NOT superseded
        AND ${unused ? "kind = 'approval_unused'" : 'execution_id = $3'}`,
    unused ? [event.streamId, position] : [event.streamId, position, subject],
  );
  if (!unused) {
    await client.query(
      `UPDATE ${EXECUTIONS} SET reconciliation_verdict = $3, reconciled_at = $4
        WHERE execution_id = $2 AND stream_id = $1`,
      [event.streamId, subject, value, event.recordedAt],
    );
  }
  await refreshApproval(client, event.streamId);
}

/** Fires the approvals trigger, which re-derives `status` and `mismatch_count` from this projection's tables. */
async function refreshApproval(client: pg.PoolClient, streamId: string): Promise<void> {
  const approvalId = approvalIdOf(streamId);
  if (approvalId === null) return;
  await client.query(`UPDATE ${APPROVALS} SET status = status WHERE approval_id = $1`, [approvalId]);
}

async function reviewed(client: pg.PoolClient, event: RecordedEvent, data: MismatchReviewedData): Promise<void> {
  // The review endpoint accepts one review per mismatch; the first one recorded wins here too.
  await client.query(
    `UPDATE ${MISMATCHES} SET review_state = 'reviewed', reviewer = $2, resolution = $3, review_note = $4,
        reviewed_at = $5, review_event_id = $6
      WHERE mismatch_id = $1 AND review_state = 'open'`,
    [data.mismatchId, data.reviewer, data.resolution, data.note ?? null, data.reviewedAt, event.eventId],
  );
}

function approvalIdOf(streamId: string): string | null {
  return streamId.startsWith(APPROVAL_STREAM_PREFIX) ? streamId.slice(APPROVAL_STREAM_PREFIX.length) : null;
}
