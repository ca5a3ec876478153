import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { approvalStreamId, sessionStreamId } from '@audit-ledger/domain';
import { type EventStore, type NewEvent } from '@audit-ledger/event-store';
import { custom, execution, grant, reject, revoke } from './read-model-test-support.js';

const KINDS = ['command_not_approved', 'dangerous_deviation', 'policy_violation', 'token_replay'] as const;

export const matched = (executionId: string, reconcilerVersion = 'r1'): NewEvent =>
  custom('ExecutionReconciled', { executionId, verdict: 'MATCH', explanation: 'equal', reconcilerVersion });

const unclear = (executionId: string, reconcilerVersion = 'r1'): NewEvent =>
  custom('ReconciliationUnclear', {
    executionId,
    kind: 'low_confidence',
    reason: 'too few shared tokens',
    needsHumanReview: true,
    reconcilerVersion,
  });

export function mismatch(
  fields: { approvalId?: string; sessionId?: string; executionId?: string; kind: string },
  reconcilerVersion = 'r1',
): { event: NewEvent; mismatchId: string } {
  const event = custom('MismatchDetected', {
    mismatchId: randomUUID(),
    ...fields,
    severity: fields.kind === 'approval_unused' ? 'low' : 'high',
    explanation: `explained ${fields.kind}`,
    approved: { instruction: 'list the running containers', commands: ['docker compose ps'] },
    ...(fields.executionId ? { executed: { command: 'docker compose down' } } : {}),
    riskRules: [],
    reconcilerVersion,
  });
  return { event, mismatchId: (event.data as { mismatchId: string }).mismatchId };
}

export const reviewed = (mismatchId: string, resolution: 'confirmed' | 'false_positive'): NewEvent =>
  custom('MismatchReviewed', {
    mismatchId,
    reviewer: 'sec@example.com',
    resolution,
    note: 'looked at it',
    reviewedAt: '2026-03-02T09:00:00.000Z',
  });

export interface GeneratedHistory {
  events: number;
  approvals: number;
  executions: number;
  /** Mismatches that are current (not superseded by a later verdict about the same subject). */
  currentMismatches: number;
  last: bigint;
}

/**
 * A varied history appended straight to the store: every kind of event the three projections handle, in the
 * order the ledger would write them (an execution, then its verdict; re-runs with a newer reconciler; reviews;
 * rejections, revocations, expiry, `approval_unused`, session actions without approval). Approval `a` of `approvals`
 * gets `perApproval` executions (some approvals none). Streams are written `concurrency` at a time.
 */
export async function appendGeneratedHistory(
  store: EventStore,
  options: { approvals: number; perApproval: number; sessions?: number; concurrency?: number; prefix?: string },
): Promise<GeneratedHistory> {
  const history: GeneratedHistory = { events: 0, approvals: 0, executions: 0, currentMismatches: 0, last: 0n };
  const prefix = options.prefix ?? `G${randomUUID().slice(0, 8)}`;
  const append = async (streamId: string, event: NewEvent): Promise<void> => {
    const { lastPosition } = await store.appendToStream(streamId, [event]);
    history.events += 1;
    if (lastPosition > history.last) history.last = lastPosition;
  };
  const day = (n: number): string => `2026-03-${String(1 + (n % 5)).padStart(2, '0')}`;

  const approval = async (a: number): Promise<void> => {
    const approvalId = `${prefix}-A${a}`;
    const stream = approvalStreamId(approvalId);
    const workerId = `w${a % 4}`;
    const riskLevel = (['safe', 'moderate', 'destructive', 'critical'] as const)[a % 4];
    const grantedAt = `${day(a)}T08:00:00.000Z`;
    history.approvals += 1;
    if (a % 10 === 0) {
      await append(stream, reject({ approvalId, rejectedAt: grantedAt }));
    } else {
      await append(
        stream,
        grant({
          approvalId,
          riskLevel,
          decision: a % 3 === 0 ? 'auto' : 'approved',
          requestedBy: { workerId, sessionId: `${prefix}-S${a % 7}` },
          grantedAt,
          ...(a % 10 === 2 ? { expiresAt: `${day(a)}T09:00:00.000Z` } : {}),
        }),
      );
    }
    const executions = a % 10 === 5 ? 0 : options.perApproval;
    for (let e = 0; e < executions; e++) {
      if (a % 10 === 1 && e === Math.floor(executions / 2)) {
        await append(stream, revoke({ approvalId, revokedAt: `${day(a)}T10:00:00.000Z` }));
      }
      const executionId = `${prefix}-E${a}-${e}`;
      await append(
        stream,
        execution({
          executionId,
          approvalId,
          workerId,
          toolName: e % 3 === 0 ? 'shell' : e % 3 === 1 ? 'kubectl' : 'git',
          exitCode: e % 5 === 0 ? 1 : 0,
          startedAt: `${day(a + e)}T${String(8 + (e % 12)).padStart(2, '0')}:00:00.000Z`,
          finishedAt: `${day(a + e)}T${String(8 + (e % 12)).padStart(2, '0')}:00:01.000Z`,
          durationMs: 100 + ((a * 31 + e * 7) % 900),
        }),
      );
      history.executions += 1;
      const verdict = (a + e) % 8;
      if (verdict < 5) await append(stream, matched(executionId));
      else if (verdict === 5) await append(stream, unclear(executionId));
      else {
        const found = mismatch({ approvalId, executionId, kind: KINDS[(a + e) % KINDS.length]! });
        await append(stream, found.event);
        if (e % 2 === 0) await append(stream, reviewed(found.mismatchId, e % 4 === 0 ? 'confirmed' : 'false_positive'));
        if (e % 3 === 0) {
          // a re-run by a newer reconciler: the earlier mismatch is superseded by a match, or by another mismatch
          if (e % 2 === 0) await append(stream, matched(executionId, 'r2'));
          else {
            await append(stream, mismatch({ approvalId, executionId, kind: 'dangerous_deviation' }, 'r2').event);
            history.currentMismatches += 1;
          }
        } else {
          history.currentMismatches += 1;
        }
      }
    }
    if (executions === 0) {
      await append(stream, mismatch({ approvalId, kind: 'approval_unused' }).event);
      history.currentMismatches += 1;
    }
  };

  const session = async (s: number): Promise<void> => {
    const sessionId = `${prefix}-S${s}`;
    const executionId = `${prefix}-X${s}`;
    const stream = sessionStreamId(sessionId);
    await append(stream, execution({ executionId, sessionId, workerId: `w${s % 4}`, toolName: 'shell' }));
    history.executions += 1;
    await append(stream, mismatch({ sessionId, executionId, kind: 'no_approval' }).event);
    history.currentMismatches += 1;
  };

  const jobs = [
    ...Array.from({ length: options.approvals }, (_, a) => () => approval(a)),
    ...Array.from({ length: options.sessions ?? 0 }, (_, s) => () => session(s)),
  ];
  const concurrency = options.concurrency ?? 8;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let job = jobs.shift(); job; job = jobs.shift()) await job();
    }),
  );
  return history;
}

/** Every table of the three ledger projections, with its columns' ordering key. */
export const READ_MODEL_TABLES = [
  'approvals',
  'executions',
  'executions_approval_lookup',
  'executions_mismatch_lookup',
  'daily_summaries',
  'session_summaries',
  'mismatches',
  'reconciliation_verdicts',
  'summary_rollups',
] as const;

/** Every row of every read-model table, as JSON text sorted by the whole row: comparable row for row. */
export async function dumpReadModels(sql: pg.Client): Promise<Record<string, string[]>> {
  const dump: Record<string, string[]> = {};
  for (const table of READ_MODEL_TABLES) {
    const { rows } = await sql.query<{ row: string }>(
      `SELECT to_jsonb(t)::text AS row FROM read_models.${table} t ORDER BY 1`,
    );
    dump[table] = rows.map((r) => r.row);
  }
  return dump;
}

/**
 * An event every ledger projection reads and skips (unknown type, in an approval stream): once a projection's
 * checkpoint reaches it, the projection has applied everything before it, whatever streams it filters on.
 */
export async function appendMarker(store: EventStore): Promise<bigint> {
  return (await store.appendToStream(approvalStreamId(`marker-${randomUUID()}`), [custom('TestMarker', {})]))
    .lastPosition;
}
