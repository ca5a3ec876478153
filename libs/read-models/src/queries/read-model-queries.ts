import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { type Projection } from '../projection.js';
import { projectionsWithReconciliation } from '../projections/default-projections.js';
import { executionsProjection, SUMMARY_ROLLUPS_SINCE_VERSION } from '../projections/executions.projection.js';
import { CHECKPOINTS_TABLE, RETENTION_TABLE } from '../read-model-migrations.js';
import { retainedRange } from '../retention/retention-window.js';
import { cursorTimeSql, encodeCursor, type PageCursor } from './cursor.js';
import { rollupSummaries } from './rollup-summaries.js';
import type { SummaryBucket, SummaryDimension, SummaryItem, SummaryP95, SummaryQuery } from './summary-query.js';
import type { TimeRange } from './time-range.js';
import { containsPattern, Where } from './where.js';

export const MAX_PAGE_SIZE = 500;
export const DEFAULT_PAGE_SIZE = 50;

export type SortOrder = 'asc' | 'desc';

interface PageOptions {
  limit?: number;
  cursor?: PageCursor;
  order?: SortOrder;
}

export interface ApprovalFilter extends PageOptions, TimeRange {
  approvalId?: string;
  sessionId?: string;
  workerId?: string;
  riskLevel?: string;
  status?: string;
  decision?: string;
  /** Whether the approver was proven by their own signed assertion (issue 11). */
  approverVerified?: boolean;
  /** Free text in the instruction or the approved commands. */
  q?: string;
}

export interface ExecutionFilter extends PageOptions, TimeRange {
  approvalId?: string;
  sessionId?: string;
  workerId?: string;
  toolName?: string;
  riskLevel?: string;
  /** `success` (exit code 0) or `failure` (anything else, including no exit code). */
  status?: 'success' | 'failure';
  /** Reconciliation verdict. */
  verdict?: string;
  /** Free text in the command. */
  q?: string;
}

export interface MismatchFilter extends PageOptions, TimeRange {
  approvalId?: string;
  executionId?: string;
  /** The mismatch's session: its own, else its execution's, else its approval's. */
  sessionId?: string;
  /** Its execution's worker, else its approval's requesting worker. */
  workerId?: string;
  kind?: string;
  severity?: string;
  /** Review state (`open`, `reviewed`), or the resolution of a reviewed one (`confirmed`, `false_positive`). */
  status?: string;
  /** Free text in the explanation. */
  q?: string;
}

export interface SessionFilter extends PageOptions, TimeRange {
  /** Part of the session id. */
  q?: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** How far the read models a query reads are: their lowest checkpoint, and the store's head. */
export interface ReadPosition {
  position: bigint;
  head: bigint;
}

export class ReadModelNotCaughtUpError extends Error {
  readonly code = 'READ_MODEL.NOT_CAUGHT_UP';
  constructor(
    readonly wanted: bigint,
    readonly reached: bigint,
    timeoutMs: number,
  ) {
    super(`The read model reached position ${reached}, not ${wanted}, within ${timeoutMs} ms; retry later`);
  }
}

/**
 * Projections (checkpoint names) each query reads. `reconciliation` (mismatches, and verdicts written into approvals
 * and executions) counts only where it runs, i.e. has a checkpoint row; the others count as position 0 until theirs
 * exists.
 */
export const QUERY_PROJECTIONS = {
  approvals: ['approvals', 'reconciliation'],
  executions: ['executions', 'reconciliation'],
  mismatches: ['reconciliation', 'approvals', 'executions'],
  /** Summaries also count how long approvals took, from the approvals rows. */
  summaries: ['executions', 'reconciliation', 'approvals'],
  sessions: ['executions'],
  /** The dashboard overview reads every read model. */
  overview: ['executions', 'reconciliation', 'approvals'],
} as const;

/** Projections that may not run in a given deployment: without a checkpoint row they are left out of positions. */
const OPTIONAL_PROJECTIONS: ReadonlySet<string> = new Set(['reconciliation']);

/** Summaries count an execution under the assessed risk of its command (rows before a rebuild: the declared one). */
const ASSESSED_RISK = 'coalesce(assessed_risk, risk_level)';

const SUMMARY_COLUMNS: Record<SummaryDimension, string> = {
  worker: 'worker_id',
  riskLevel: ASSESSED_RISK,
  toolName: 'tool_name',
  session: 'session_id',
};

const MAX_SUMMARY_ROWS = 10_000;

/**
 * The items with the approval times of their group (`approvalTimesByGroup` rows); a group with timed approvals but no
 * executions or mismatches becomes an item of its own. Groups without timed approvals get no approval fields.
 */
function withApprovalTimes(
  items: SummaryItem[],
  rows: Record<string, unknown>[],
  dimensions: SummaryDimension[],
): { items: SummaryItem[] } {
  const keyOf = (row: Record<string, unknown>): string =>
    JSON.stringify([(row.bucket as Date).toISOString(), ...dimensions.map((d) => row[d] ?? null)]);
  const byKey = new Map<string, SummaryItem>();
  for (const item of items) byKey.set(keyOf(item), item);
  for (const row of rows) {
    let item = byKey.get(keyOf(row));
    if (!item) {
      item = {
        bucket: row.bucket as Date,
        ...Object.fromEntries(dimensions.map((d) => [d, row[d] as string | null])),
        executions: 0,
        successes: 0,
        failures: 0,
        totalDurationMs: 0,
        p95DurationMs: null,
        mismatchesByKind: {},
      };
      byKey.set(keyOf(row), item);
    }
    item.approvalsTimed = row.approvals_timed as number;
    item.approvalTimeMs = Number(row.approval_time_ms);
    item.approvalTimeP95Ms = Math.round(Number(row.approval_time_p95_ms));
  }
  return { items: [...byKey.values()] };
}

/** Orders summary items by bucket, then each dimension (nulls last), as the SQL `ORDER BY` did. */
export function compareGroups(
  a: { bucket: Date } & Record<string, unknown>,
  b: { bucket: Date } & Record<string, unknown>,
  dimensions: SummaryDimension[],
): number {
  const byTime = a.bucket.getTime() - b.bucket.getTime();
  if (byTime !== 0) return byTime;
  for (const d of dimensions) {
    const x = a[d] as string | null;
    const y = b[d] as string | null;
    if (x === y) continue;
    if (x === null) return 1;
    if (y === null) return -1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * How many events past a filtered projection's checkpoint the read position looks for one it would read. Past that
 * window the position is reported as checkpoint + window (an understatement, never an overstatement), so a projection
 * idle behind a long run of other streams' events costs one bounded index range scan.
 */
const POSITION_SCAN_WINDOW = 100_000;

interface Keyset {
  timeColumn: string;
  keyColumn: string;
  keyType: 'bigint' | 'text';
}

const num = (value: string | number | null): number | null => (value === null ? null : Number(value));

function approvalItem(row: Record<string, unknown>) {
  return {
    approvalId: row.approval_id as string,
    streamId: row.stream_id as string,
    instruction: row.instruction as string | null,
    approvedCommands: row.approved_commands as string[],
    scope: row.scope as unknown,
    riskLevel: row.risk_level as string | null,
    decision: row.decision as string | null,
    approvedBy: row.approved_by as string | null,
    approverVerified: row.approver_verified as boolean,
    approverAssertionHash: row.approver_assertion_hash as string | null,
    requestedBy: {
      agentId: row.requested_by_agent as string | null,
      workerId: row.requested_by_worker as string | null,
      sessionId: row.requested_by_session as string | null,
    },
    maxExecutions: row.max_executions as number | null,
    status: row.status as string,
    createdAt: row.created_at as Date,
    grantedAt: row.granted_at as Date | null,
    expiresAt: row.expires_at as Date | null,
    rejectedBy: row.rejected_by as string | null,
    rejectedAt: row.rejected_at as Date | null,
    rejectionReason: row.rejection_reason as string | null,
    revokedBy: row.revoked_by as string | null,
    revokedAt: row.revoked_at as Date | null,
    revocationReason: row.revocation_reason as string | null,
    requestedAt: row.requested_at as Date | null,
    grantedOccurredAt: row.granted_occurred_at as Date | null,
    approvalTimeMs: num(row.approval_time_ms as string | null),
    rejectedOccurredAt: row.rejected_occurred_at as Date | null,
    revokedOccurredAt: row.revoked_occurred_at as Date | null,
    executionCount: row.execution_count as number,
    firstExecutionAt: row.first_execution_at as Date | null,
    lastExecutionAt: row.last_execution_at as Date | null,
    mismatchCount: row.mismatch_count as number,
    lastEventAt: row.last_event_at as Date,
    position: row.position as string,
  };
}

export type ApprovalItem = ReturnType<typeof approvalItem>;

function executionItem(row: Record<string, unknown>) {
  return {
    executionId: row.execution_id as string,
    approvalId: row.approval_id as string | null,
    sessionId: row.session_id as string | null,
    workerId: row.worker_id as string,
    toolName: row.tool_name as string,
    command: row.command as string,
    exitCode: row.exit_code as number | null,
    startedAt: row.started_at as Date,
    finishedAt: row.finished_at as Date,
    durationMs: num(row.duration_ms as string),
    riskLevel: row.risk_level as string,
    assessedRisk: row.assessed_risk as string | null,
    reconciliationVerdict: row.reconciliation_verdict as string | null,
    reconciledAt: row.reconciled_at as Date | null,
    outputSha256: row.output_sha256 as string,
    outputBytes: num(row.output_bytes as string),
    outputTruncated: row.output_truncated as boolean,
    artifacts: row.artifacts as unknown,
    eventId: row.event_id as string,
    streamId: row.stream_id as string,
    streamRevision: row.stream_revision as number,
    globalPosition: row.global_position as string,
    recordedAt: row.recorded_at as Date,
  };
}

export type ExecutionItem = ReturnType<typeof executionItem>;

function mismatchItem(row: Record<string, unknown>) {
  return {
    mismatchId: row.mismatch_id as string,
    approvalId: row.approval_id as string | null,
    executionId: row.execution_id as string | null,
    kind: row.kind as string,
    kinds: (row.kinds as string[] | null) ?? [row.kind as string],
    severity: row.severity as string,
    assessedRisk: row.assessed_risk as string | null,
    explanation: row.explanation as string,
    approved: row.approved as unknown,
    executed: row.executed as unknown,
    detectedAt: row.detected_at as Date,
    reviewState: row.review_state as string,
    reviewer: row.reviewer as string | null,
    resolution: row.resolution as string | null,
    reviewNote: row.review_note as string | null,
    reviewedAt: row.reviewed_at as Date | null,
    ...approverOfMismatch(row),
    sessionId: (row.mismatch_session_id ?? null) as string | null,
    workerId: (row.mismatch_worker_id ?? null) as string | null,
    eventId: row.event_id as string,
    globalPosition: row.global_position as string,
  };
}

export type MismatchItem = ReturnType<typeof mismatchItem>;

/**
 * Who approved what the mismatch is about, and whether that approver was proven by their own signed assertion (issue
 * 11): both null when the mismatch has no approval or its grant has not been seen.
 */
function approverOfMismatch(row: Record<string, unknown>) {
  const approvedBy = (row.approval_approved_by ?? null) as string | null;
  return {
    approvedBy,
    approverVerified: approvedBy === null ? null : (row.approval_approver_verified as boolean),
  };
}

/**
 * The mismatches with their approval's approver, and the session and worker they belong to (their own session, else
 * their execution's, else their approval's): a derived table, the filters and keyset name its columns.
 */
const MISMATCHES_WITH_APPROVER = `(SELECT m.*, a.approved_by AS approval_approved_by,
        a.approver_verified AS approval_approver_verified,
        coalesce(m.session_id, e.session_id, a.requested_by_session) AS mismatch_session_id,
        coalesce(e.worker_id, a.requested_by_worker) AS mismatch_worker_id
   FROM read_models.mismatches m
   LEFT JOIN read_models.approvals a ON a.approval_id = m.approval_id
   LEFT JOIN read_models.executions e ON e.execution_id = m.execution_id) mismatches`;

/** Values of the mismatch filter `status` that name a resolution rather than a review state. */
const MISMATCH_RESOLUTIONS: readonly string[] = ['confirmed', 'false_positive'];

/** The columns of an execution in exports, in order (CSV header). */
export const EXECUTION_EXPORT_COLUMNS = [
  'executionId',
  'approvalId',
  'sessionId',
  'workerId',
  'toolName',
  'command',
  'exitCode',
  'startedAt',
  'finishedAt',
  'durationMs',
  'riskLevel',
  'reconciliationVerdict',
  'outputSha256',
  'outputBytes',
  'outputTruncated',
  'globalPosition',
  'recordedAt',
] as const satisfies readonly (keyof ExecutionItem)[];

/**
 * A session's summary, as the old audit store kept it: its actions (executions) by assessed risk, how many ran under
 * an approval that was approved or rejected/revoked, successful and failed, and their total duration.
 */
function sessionItem(row: Record<string, unknown>) {
  return {
    sessionId: row.session_id as string,
    totalActions: row.total_actions as number,
    byRisk: {
      safe: row.risk_safe as number,
      moderate: row.risk_moderate as number,
      destructive: row.risk_destructive as number,
      critical: row.risk_critical as number,
      none: row.risk_none as number,
    },
    approved: row.approved as number,
    rejected: row.rejected as number,
    successful: row.successful as number,
    failed: row.failed as number,
    totalDurationMs: Number(row.total_duration_ms),
    firstActionAt: row.first_action_at as Date,
    lastActionAt: row.last_action_at as Date,
  };
}

export type SessionItem = ReturnType<typeof sessionItem>;

const SESSIONS_KEYSET: Keyset = { timeColumn: 'last_action_at', keyColumn: 'session_id', keyType: 'text' };

/** The columns of an approval in exports, in order (CSV header); `requestedBy` is flattened. */
export const APPROVAL_EXPORT_COLUMNS = [
  'approvalId',
  'status',
  'riskLevel',
  'decision',
  'approvedBy',
  'approverVerified',
  'workerId',
  'sessionId',
  'agentId',
  'instruction',
  'approvedCommands',
  'maxExecutions',
  'createdAt',
  'grantedAt',
  'expiresAt',
  'rejectedBy',
  'rejectedAt',
  'revokedBy',
  'revokedAt',
  'approvalTimeMs',
  'executionCount',
  'mismatchCount',
  'position',
] as const;

/** An approval as one flat export row (CSV columns above). */
export function approvalExportRow(item: ApprovalItem): Record<(typeof APPROVAL_EXPORT_COLUMNS)[number], unknown> {
  const { requestedBy, approvedCommands, ...rest } = item;
  return {
    ...rest,
    workerId: requestedBy.workerId,
    sessionId: requestedBy.sessionId,
    agentId: requestedBy.agentId,
    approvedCommands: approvedCommands.join('\n'),
  };
}

/** The columns of a mismatch in exports, in order (CSV header). */
export const MISMATCH_EXPORT_COLUMNS = [
  'mismatchId',
  'approvalId',
  'executionId',
  'sessionId',
  'workerId',
  'kind',
  'severity',
  'assessedRisk',
  'explanation',
  'detectedAt',
  'reviewState',
  'resolution',
  'reviewer',
  'reviewNote',
  'reviewedAt',
  'approvedBy',
  'approverVerified',
  'globalPosition',
] as const satisfies readonly (keyof MismatchItem)[];

/**
 * Read-only queries on the read-model tables, on a pool the caller owns (ideally one whose sessions are
 * `default_transaction_read_only`). Every value is a bind parameter; lists use keyset pagination on
 * `(time, tiebreaker)` so a page never repeats or skips a row that existed when paging started, whatever is inserted
 * meanwhile.
 */
export class ReadModelQueries {
  private readonly filters: ReadonlyMap<string, Projection['filter']>;

  /** `projections`: the ones the runner runs (their stream filters matter for the read position). */
  constructor(
    private readonly pool: pg.Pool,
    projections: readonly Projection[] = projectionsWithReconciliation(),
  ) {
    this.filters = new Map(projections.map((projection) => [projection.name, projection.filter]));
  }

  async listApprovals(filter: ApprovalFilter): Promise<Page<ApprovalItem>> {
    return this.page('read_models.approvals', approvalWhere(filter), APPROVALS_KEYSET, filter, approvalItem);
  }

  /** Session summaries, most recently active first; `from`/`to` keep the sessions active in that range. */
  async listSessions(filter: SessionFilter): Promise<Page<SessionItem>> {
    const where = new Where()
      .when(filter.from, (p) => `last_action_at >= ${p}`)
      .when(filter.to, (p) => `first_action_at < ${p}`)
      .when(filter.q === undefined ? undefined : containsPattern(filter.q), (p) => `session_id ILIKE ${p} ESCAPE '\\'`);
    return this.page('read_models.session_summaries', where, SESSIONS_KEYSET, filter, sessionItem);
  }

  async getSession(sessionId: string): Promise<SessionItem | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM read_models.session_summaries WHERE session_id = $1', [
      sessionId,
    ]);
    return rows[0] ? sessionItem(rows[0]) : undefined;
  }

  async getApproval(approvalId: string): Promise<ApprovalItem | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM read_models.approvals WHERE approval_id = $1', [approvalId]);
    return rows[0] ? approvalItem(rows[0]) : undefined;
  }

  async listExecutions(filter: ExecutionFilter): Promise<Page<ExecutionItem>> {
    return this.page('read_models.executions', executionWhere(filter), EXECUTIONS_KEYSET, filter, executionItem);
  }

  async getExecution(executionId: string): Promise<ExecutionItem | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM read_models.executions WHERE execution_id = $1', [
      executionId,
    ]);
    return rows[0] ? executionItem(rows[0]) : undefined;
  }

  /**
   * Every execution the filter matches, `batchSize` rows per query by keyset (no transaction or connection held
   * between batches, so memory and locks stay flat however many rows there are). Rows inserted while the export
   * runs appear only if they sort after the batch being read.
   */
  streamExecutions(filter: Omit<ExecutionFilter, 'limit'>, batchSize = 1000): AsyncGenerator<ExecutionItem> {
    return this.streamRows(
      'read_models.executions',
      () => executionWhere(filter),
      EXECUTIONS_KEYSET,
      filter,
      executionItem,
      batchSize,
    );
  }

  private async *streamRows<T>(
    table: string,
    where: () => Where,
    keyset: Keyset,
    options: PageOptions,
    map: (row: Record<string, unknown>) => T,
    batchSize: number,
  ): AsyncGenerator<T> {
    let cursor = options.cursor;
    for (;;) {
      const page = await this.pageRows(table, where(), keyset, { ...options, cursor, limit: batchSize }, map);
      yield* page.items;
      if (!page.last) return;
      cursor = page.last;
    }
  }

  async listMismatches(filter: MismatchFilter): Promise<Page<MismatchItem>> {
    return this.page(MISMATCHES_WITH_APPROVER, mismatchWhere(filter), MISMATCHES_KEYSET, filter, mismatchItem);
  }

  /** Every mismatch the filter matches, in keyset batches (see `streamExecutions`). */
  streamMismatches(filter: Omit<MismatchFilter, 'limit'>, batchSize = 1000): AsyncGenerator<MismatchItem> {
    return this.streamRows(
      MISMATCHES_WITH_APPROVER,
      () => mismatchWhere(filter),
      MISMATCHES_KEYSET,
      filter,
      mismatchItem,
      batchSize,
    );
  }

  /** Every approval the filter matches, in keyset batches (see `streamExecutions`). */
  streamApprovals(filter: Omit<ApprovalFilter, 'limit'>, batchSize = 1000): AsyncGenerator<ApprovalItem> {
    return this.streamRows(
      'read_models.approvals',
      () => approvalWhere(filter),
      APPROVALS_KEYSET,
      filter,
      approvalItem,
      batchSize,
    );
  }

  /**
   * Mismatches projected after global position `after`, oldest first (at most `limit`): what a live view has not
   * seen yet. Positions only grow, so `after` = the last one seen resumes exactly.
   */
  async mismatchesAfter(after: bigint, limit = 100): Promise<MismatchItem[]> {
    const { rows } = await this.pool.query<Record<string, unknown>>(
      `SELECT * FROM ${MISMATCHES_WITH_APPROVER} WHERE global_position > $1 ORDER BY global_position LIMIT $2`,
      [after.toString(), limit],
    );
    return rows.map(mismatchItem);
  }

  /** The highest global position of a projected mismatch (0 when none): where a live view without a resume point starts. */
  async lastMismatchPosition(): Promise<bigint> {
    const { rows } = await this.pool.query<{ position: string | null }>(
      'SELECT max(global_position)::text AS position FROM read_models.mismatches',
    );
    return BigInt(rows[0]?.position ?? 0);
  }

  /**
   * Execution counts, outcomes and durations per time bucket (UTC) and the chosen dimensions, and the current (not
   * superseded) mismatches by kind in the same groups. A mismatch about an execution counts in the execution's group
   * (its `startedAt`, worker, risk level, tool, session); one without an execution (e.g. `approval_unused`) counts at
   * its detection time with its approval's worker and risk level, tool `''`, in a group that may have no executions.
   *
   * Queries grouped by at most one of worker, risk level and tool (and filtered on at most that one), without
   * `exact`, are answered from the summary rollups (`rollup-summaries.ts`): the same counts, the p95 from duration
   * histograms (`p95: 'histogram'`). Others aggregate the rows at query time (`p95: 'exact'`).
   */
  async summaries(query: SummaryQuery): Promise<{
    bucket: SummaryBucket;
    groupBy: SummaryDimension[];
    p95: SummaryP95;
    truncated: boolean;
    items: SummaryItem[];
  }> {
    const dimensions = [...new Set(query.groupBy)];
    // Before the retention cut the detail rows are gone: the rollups alone answer there (whole hours, histogram p95)
    const retained = retainedRange(query, await this.trimmedBefore());
    query = retained.query;
    if (!query.exact && (await this.summaryRollupsBuilt())) {
      const rollup = await rollupSummaries(this.pool, query, dimensions, MAX_SUMMARY_ROWS);
      if (rollup) {
        const timed = withApprovalTimes(rollup.items, await this.approvalTimesByGroup(query, dimensions), dimensions);
        const items = timed.items.sort((a, b) => compareGroups(a, b, dimensions)).slice(0, MAX_SUMMARY_ROWS);
        const truncated = rollup.truncated || timed.items.length > MAX_SUMMARY_ROWS;
        return { bucket: query.bucket, groupBy: dimensions, p95: 'histogram', truncated, items };
      }
    }
    // The exact path reads the rows: it covers the retained period only
    if (retained.reachesTrimmed) query = { ...query, from: retained.trimmedBefore };
    const where = new Where()
      .when(query.workerId, (p) => `worker_id = ${p}`)
      .when(query.toolName, (p) => `tool_name = ${p}`)
      .when(query.riskLevel, (p) => `${ASSESSED_RISK} = ${p}`)
      .when(query.sessionId, (p) => `session_id = ${p}`)
      .when(query.from, (p) => `started_at >= ${p}`)
      .when(query.to, (p) => `started_at < ${p}`);
    const bucket = where.param(query.bucket);
    const columns = dimensions.map((d) => `${SUMMARY_COLUMNS[d]} AS "${d}"`);
    const groups = ['1', ...dimensions.map((_, i) => String(i + 2))];
    const [{ rows }, mismatches, approvalTimes] = await Promise.all([
      this.pool.query<Record<string, unknown>>(
        `SELECT (date_trunc(${bucket}, started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS bucket,
                ${[...columns, ''].join(', ')}
                count(*)::integer AS executions,
                (count(*) FILTER (WHERE exit_code = 0))::integer AS successes,
                (count(*) FILTER (WHERE exit_code IS DISTINCT FROM 0))::integer AS failures,
                sum(duration_ms)::bigint AS total_duration_ms,
                percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_duration_ms
           FROM read_models.executions ${where.sql()}
          GROUP BY ${groups.join(', ')}
          ORDER BY ${groups.join(', ')}
          LIMIT ${MAX_SUMMARY_ROWS + 1}`,
        where.params,
      ),
      this.mismatchesByGroup(query, dimensions),
      this.approvalTimesByGroup(query, dimensions),
    ]);
    type Item = SummaryItem;
    const keyOf = (row: Record<string, unknown>): string =>
      JSON.stringify([(row.bucket as Date).toISOString(), ...dimensions.map((d) => row[d] ?? null)]);
    const items = new Map<string, Item>();
    for (const row of rows.slice(0, MAX_SUMMARY_ROWS)) {
      items.set(keyOf(row), {
        bucket: row.bucket as Date,
        ...Object.fromEntries(dimensions.map((d) => [d, row[d] as string | null])),
        executions: row.executions as number,
        successes: row.successes as number,
        failures: row.failures as number,
        totalDurationMs: Number(row.total_duration_ms),
        p95DurationMs: Number(row.p95_duration_ms),
        mismatchesByKind: {},
      });
    }
    let truncated = rows.length > MAX_SUMMARY_ROWS;
    for (const row of mismatches) {
      const key = keyOf(row);
      let item = items.get(key);
      if (!item) {
        if (items.size >= MAX_SUMMARY_ROWS) {
          truncated = true;
          continue;
        }
        item = {
          bucket: row.bucket as Date,
          ...Object.fromEntries(dimensions.map((d) => [d, row[d] as string | null])),
          executions: 0,
          successes: 0,
          failures: 0,
          totalDurationMs: 0,
          p95DurationMs: null,
          mismatchesByKind: {},
        };
        items.set(key, item);
      }
      item.mismatchesByKind[row.kind as string] = row.count as number;
    }
    const timed = withApprovalTimes([...items.values()], approvalTimes, dimensions);
    const sorted = timed.items.sort((a, b) => compareGroups(a, b, dimensions)).slice(0, MAX_SUMMARY_ROWS);
    truncated ||= timed.items.length > MAX_SUMMARY_ROWS;
    return { bucket: query.bucket, groupBy: dimensions, p95: 'exact', truncated, items: sorted };
  }

  /** Where the read models' retention cut (`read_models.retention`): detail rows before it may be gone. */
  private async trimmedBefore(): Promise<Date | undefined> {
    const { rows } = await this.pool
      .query<{ trimmed_before: Date | null }>(`SELECT trimmed_before FROM ${RETENTION_TABLE} WHERE id`)
      .catch((error: unknown) => {
        // read models created by a version before retention, not migrated yet (no runner here): nothing was trimmed
        if ((error as { code?: string }).code === '42P01') return { rows: [] };
        throw error;
      });
    return rows[0]?.trimmed_before ?? undefined;
  }

  /**
   * Whether `summary_rollups` hold the whole history: no executions checkpoint yet (they fill with the executions
   * rows), or one written by a version that fills them. After an upgrade, until `ledger projections rebuild`, the
   * summaries take the exact path.
   */
  private async summaryRollupsBuilt(): Promise<boolean> {
    const { rows } = await this.pool.query<{ version: number }>(
      `SELECT version FROM ${CHECKPOINTS_TABLE} WHERE name = $1`,
      [executionsProjection.name],
    );
    return rows[0] === undefined || rows[0].version >= SUMMARY_ROLLUPS_SINCE_VERSION;
  }

  /**
   * How long humans took to approve, per bucket of the grant's occurrence time and the dimensions (the grant's worker,
   * risk level and session; tool `''`): grants with a `requestedAt` only. Exact, from `read_models.approvals`.
   */
  private async approvalTimesByGroup(query: SummaryQuery, dimensions: SummaryDimension[]) {
    const expressions: Record<SummaryDimension, string> = {
      worker: "coalesce(requested_by_worker, '')",
      riskLevel: "coalesce(risk_level, 'unknown')",
      toolName: "''",
      session: 'requested_by_session',
    };
    const where = new Where()
      .add('approval_time_ms IS NOT NULL')
      .when(query.workerId, (p) => `${expressions.worker} = ${p}`)
      .when(query.toolName, (p) => `${expressions.toolName} = ${p}`)
      .when(query.riskLevel, (p) => `${expressions.riskLevel} = ${p}`)
      .when(query.sessionId, (p) => `${expressions.session} = ${p}`)
      .when(query.from, (p) => `granted_occurred_at >= ${p}`)
      .when(query.to, (p) => `granted_occurred_at < ${p}`);
    const bucket = where.param(query.bucket);
    const columns = dimensions.map((d) => `${expressions[d]} AS "${d}"`);
    const groups = ['1', ...dimensions.map((_, i) => String(i + 2))];
    const { rows } = await this.pool.query<Record<string, unknown>>(
      `SELECT (date_trunc(${bucket}, granted_occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS bucket,
              ${[...columns, ''].join(', ')} count(*)::integer AS approvals_timed,
              round(avg(approval_time_ms)) AS approval_time_ms,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY approval_time_ms) AS approval_time_p95_ms
         FROM read_models.approvals
        ${where.sql()}
        GROUP BY ${groups.join(', ')}
        LIMIT ${MAX_SUMMARY_ROWS + 1}`,
      where.params,
    );
    return rows;
  }

  /** Current mismatches per bucket, dimensions and kind (see `summaries`). */
  private async mismatchesByGroup(query: SummaryQuery, dimensions: SummaryDimension[]) {
    const expressions: Record<SummaryDimension, string> = {
      worker: "coalesce(e.worker_id, a.requested_by_worker, '')",
      riskLevel: `coalesce(e.assessed_risk, e.risk_level, a.risk_level, CASE WHEN m.approval_id IS NULL THEN 'none' ELSE 'unknown' END)`,
      toolName: "coalesce(e.tool_name, '')",
      session: 'coalesce(e.session_id, m.session_id)',
    };
    const at = 'coalesce(e.started_at, m.detected_at)';
    const where = new Where()
      .add('NOT m.superseded')
      .when(query.workerId, (p) => `${expressions.worker} = ${p}`)
      .when(query.toolName, (p) => `${expressions.toolName} = ${p}`)
      .when(query.riskLevel, (p) => `${expressions.riskLevel} = ${p}`)
      .when(query.sessionId, (p) => `${expressions.session} = ${p}`)
      .when(query.from, (p) => `${at} >= ${p}`)
      .when(query.to, (p) => `${at} < ${p}`);
    const bucket = where.param(query.bucket);
    const columns = dimensions.map((d) => `${expressions[d]} AS "${d}"`);
    const groups = ['1', ...dimensions.map((_, i) => String(i + 2)), String(dimensions.length + 2)];
    const { rows } = await this.pool.query<Record<string, unknown>>(
      `SELECT (date_trunc(${bucket}, ${at} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS bucket,
              ${[...columns, ''].join(', ')} m.kind, count(*)::integer AS count
         FROM read_models.mismatches m
         LEFT JOIN read_models.executions e ON e.execution_id = m.execution_id
         LEFT JOIN read_models.approvals a ON a.approval_id = m.approval_id
        ${where.sql()}
        GROUP BY ${groups.join(', ')}
        LIMIT ${MAX_SUMMARY_ROWS * 10}`,
      where.params,
    );
    return rows;
  }

  /**
   * The lowest position among `projections` up to which each has applied every event it reads, and the store's
   * head. A projection that reads only some streams (or event types) is as far as the event just before the first
   * event it has not applied *and would read*: its checkpoint moves only with its own events, but it is not behind
   * because of other streams' events. (An event still being committed below the head is not seen yet; it is the
   * caller's own committed writes that `minPosition` is for.)
   */
  async readPosition(projections: readonly string[]): Promise<ReadPosition> {
    const { rows: heads } = await this.pool.query<{ head: string | null }>(
      'SELECT max(global_position) AS head FROM ledger.events',
    );
    const head = BigInt(heads[0]?.head ?? 0);
    let position = head;
    for (const name of projections) {
      const filter = this.filters.get(name);
      const where = new Where();
      const checkpoint = where.param(name);
      if (filter?.streamPrefixes?.length) {
        const prefixes = where.param(filter.streamPrefixes.map((prefix) => containsPattern(prefix).slice(1)));
        where.add(`e.stream_id LIKE ANY (${prefixes}::text[])`);
      }
      if (filter?.eventTypes?.length) where.add(`e.type = ANY (${where.param(filter.eventTypes)}::text[])`);
      const { rows } = await this.pool.query<{ found: boolean; checkpoint: string; next: string | null }>(
        `WITH c AS (SELECT coalesce((SELECT position FROM ${CHECKPOINTS_TABLE} WHERE name = ${checkpoint}), 0) AS position)
         SELECT EXISTS (SELECT FROM ${CHECKPOINTS_TABLE} WHERE name = ${checkpoint}) AS found,
                c.position AS checkpoint,
                (SELECT min(e.global_position) FROM ledger.events e
                  WHERE e.global_position > c.position AND e.global_position <= c.position + ${POSITION_SCAN_WINDOW}
                        ${where.sql().replace(/^WHERE/, 'AND')}) AS next
           FROM c`,
        where.params,
      );
      if (!rows[0]?.found && OPTIONAL_PROJECTIONS.has(name)) continue;
      const next = rows[0]?.next;
      const reached =
        next === null || next === undefined
          ? BigInt(rows[0]?.checkpoint ?? 0) + BigInt(POSITION_SCAN_WINDOW)
          : BigInt(next) - 1n;
      if (reached < position) position = reached;
    }
    return { position, head };
  }

  /**
   * Read-your-writes: waits until every projection in `projections` has reached `minPosition`, polling its
   * checkpoint every `pollMs`, for at most `timeoutMs`; then throws `ReadModelNotCaughtUpError`.
   */
  async waitForPosition(
    projections: readonly string[],
    minPosition: bigint,
    { timeoutMs = 5000, pollMs = 20 }: { timeoutMs?: number; pollMs?: number } = {},
  ): Promise<ReadPosition> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const position = await this.readPosition(projections);
      if (position.position >= minPosition) return position;
      if (Date.now() >= deadline) throw new ReadModelNotCaughtUpError(minPosition, position.position, timeoutMs);
      await sleep(pollMs);
    }
  }

  private async page<T>(
    table: string,
    where: Where,
    keyset: Keyset,
    options: PageOptions,
    map: (row: Record<string, unknown>) => T,
  ): Promise<Page<T>> {
    const limit = Math.min(Math.max(options.limit ?? DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE);
    const { items, last, more } = await this.pageRows(table, where, keyset, { ...options, limit }, map);
    return { items, nextCursor: more && last ? encodeCursor(last) : null };
  }

  /** One page plus the cursor of its last row (`last` only when more rows may follow). */
  private async pageRows<T>(
    table: string,
    where: Where,
    keyset: Keyset,
    options: PageOptions,
    map: (row: Record<string, unknown>) => T,
  ): Promise<{ items: T[]; last?: PageCursor; more: boolean }> {
    const limit = options.limit ?? DEFAULT_PAGE_SIZE;
    const desc = (options.order ?? 'desc') === 'desc';
    const { timeColumn, keyColumn, keyType } = keyset;
    if (options.cursor) {
      const time = where.param(options.cursor.time);
      const key = where.param(options.cursor.key);
      where.add(`(${timeColumn}, ${keyColumn}) ${desc ? '<' : '>'} (${time}::timestamptz, ${key}::${keyType})`);
    }
    const direction = desc ? 'DESC' : 'ASC';
    const { rows } = await this.pool.query<Record<string, unknown>>(
      `SELECT *, ${cursorTimeSql(timeColumn)} AS cursor_time, ${keyColumn}::text AS cursor_key
         FROM ${table} ${where.sql()}
        ORDER BY ${timeColumn} ${direction}, ${keyColumn} ${direction}
        LIMIT ${limit + 1}`,
      where.params,
    );
    const more = rows.length > limit;
    const pageRows = rows.slice(0, limit);
    const lastRow = pageRows.at(-1);
    return {
      items: pageRows.map(map),
      more,
      last: more && lastRow ? { time: lastRow.cursor_time as string, key: lastRow.cursor_key as string } : undefined,
    };
  }
}

const EXECUTIONS_KEYSET: Keyset = { timeColumn: 'started_at', keyColumn: 'global_position', keyType: 'bigint' };
const APPROVALS_KEYSET: Keyset = { timeColumn: 'created_at', keyColumn: 'approval_id', keyType: 'text' };
const MISMATCHES_KEYSET: Keyset = { timeColumn: 'detected_at', keyColumn: 'global_position', keyType: 'bigint' };

function approvalWhere(filter: ApprovalFilter): Where {
  return new Where()
    .when(filter.approvalId, (p) => `approval_id = ${p}`)
    .when(filter.sessionId, (p) => `requested_by_session = ${p}`)
    .when(filter.workerId, (p) => `requested_by_worker = ${p}`)
    .when(filter.riskLevel, (p) => `risk_level = ${p}`)
    .when(filter.status, (p) => `status = ${p}`)
    .when(filter.decision, (p) => `decision = ${p}`)
    .when(filter.approverVerified, (p) => `approver_verified = ${p}`)
    .when(filter.from, (p) => `created_at >= ${p}`)
    .when(filter.to, (p) => `created_at < ${p}`)
    .when(
      filter.q === undefined ? undefined : containsPattern(filter.q),
      (p) =>
        `(instruction ILIKE ${p} ESCAPE '\\' OR array_to_string(approved_commands, E'\\n') ILIKE ${p} ESCAPE '\\')`,
    );
}

/**
 * The mismatches that may belong to a session (their own, their execution's or their approval's), each way by an
 * index: a superset that the exact condition on the derived column then narrows. Without it the derived column is
 * computed for every mismatch, joined to every execution (seconds on a million executions, docs/benchmarks.md).
 */
const mismatchesOfSession = (p: string) => `
  SELECT mismatch_id FROM read_models.mismatches WHERE session_id = ${p}
  UNION ALL SELECT m.mismatch_id FROM read_models.executions e
    JOIN read_models.mismatches m ON m.execution_id = e.execution_id WHERE e.session_id = ${p}
  UNION ALL SELECT m.mismatch_id FROM read_models.approvals a
    JOIN read_models.mismatches m ON m.approval_id = a.approval_id WHERE a.requested_by_session = ${p}`;

/** The mismatches that may belong to a worker (their execution's, else their approval's requester), by index. */
const mismatchesOfWorker = (p: string) => `
  SELECT m.mismatch_id FROM read_models.executions e
    JOIN read_models.mismatches m ON m.execution_id = e.execution_id WHERE e.worker_id = ${p}
  UNION ALL SELECT m.mismatch_id FROM read_models.approvals a
    JOIN read_models.mismatches m ON m.approval_id = a.approval_id WHERE a.requested_by_worker = ${p}`;

function mismatchWhere(filter: MismatchFilter): Where {
  const resolution = filter.status !== undefined && MISMATCH_RESOLUTIONS.includes(filter.status);
  return new Where()
    .when(filter.approvalId, (p) => `approval_id = ${p}`)
    .when(filter.executionId, (p) => `execution_id = ${p}`)
    .when(filter.sessionId, (p) => `mismatch_session_id = ${p} AND mismatch_id IN (${mismatchesOfSession(p)})`)
    .when(filter.workerId, (p) => `mismatch_worker_id = ${p} AND mismatch_id IN (${mismatchesOfWorker(p)})`)
    .when(filter.kind, (p) => `(kind = ${p} OR ${p} = ANY(kinds))`)
    .when(filter.severity, (p) => `severity = ${p}`)
    .when(filter.status, (p) => (resolution ? `resolution = ${p}` : `review_state = ${p}`))
    .when(filter.from, (p) => `detected_at >= ${p}`)
    .when(filter.to, (p) => `detected_at < ${p}`)
    .when(filter.q === undefined ? undefined : containsPattern(filter.q), (p) => `explanation ILIKE ${p} ESCAPE '\\'`);
}

function executionWhere(filter: ExecutionFilter): Where {
  return new Where()
    .when(filter.approvalId, (p) => `approval_id = ${p}`)
    .when(filter.sessionId, (p) => `session_id = ${p}`)
    .when(filter.workerId, (p) => `worker_id = ${p}`)
    .when(filter.toolName, (p) => `tool_name = ${p}`)
    .when(filter.riskLevel, (p) => `risk_level = ${p}`)
    .when(filter.verdict, (p) => `reconciliation_verdict = ${p}`)
    .when(filter.from, (p) => `started_at >= ${p}`)
    .when(filter.to, (p) => `started_at < ${p}`)
    .when(filter.status, (p) => `coalesce(exit_code = 0, false) = (${p}::text = 'success')`)
    .when(filter.q === undefined ? undefined : containsPattern(filter.q), (p) => `command ILIKE ${p} ESCAPE '\\'`);
}
