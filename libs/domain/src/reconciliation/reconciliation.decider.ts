/**
 * The reconciliation decider of one approval (or session) stream: what the reconciliation processor and the review
 * endpoint append. `decide(command, state)`, `evolve(state, event)`, `initialState()`; ids and time arrive on the
 * command (the processor derives `mismatchId` from what is reconciled, so a replay decides the same id).
 */
import type { ApprovalStreamEvent, ExecutionLoggedData } from '../approvals/approval.events.js';
import { GrowingMap, GrowingSet } from '../shared/growing-collections.js';
import { LedgerError } from '../shared/ledger-error.js';
import { isJudgeAnswer, judgeApplies, verdictWithJudge, type JudgeInput, type JudgeOutcome } from './judge.js';
import {
  evolveLifecycle,
  initialLifecycleState,
  lifecycleMismatch,
  lifecycleStateOf,
  unusedApprovalFinding,
  type LifecycleState,
} from './lifecycle.js';
import { assessCommandRisk, reconcile } from './reconcile.js';
import type { AssessedRisk } from './effects/effect.types.js';
import {
  JUDGE_ERROR_MAX,
  JUDGE_RATIONALE_MAX,
  type JudgeRecord,
  type MismatchDetectedData,
  type MismatchReviewedData,
  type ReconciliationEvent,
} from './reconciliation.events.js';
import type { MismatchKind, ReconciliationResult, Severity } from './reconciliation.types.js';
import { maxSeverity, riskHits } from './risk-rules.js';
import { parseCommandLine } from './shell-parser.js';

export type StreamEvent = ApprovalStreamEvent | ReconciliationEvent;

export type ReconciliationCommand =
  | {
      type: 'ReconcileExecution';
      execution: ExecutionLoggedData;
      /** The stream's events recorded before this execution, in stream order. */
      history: readonly StreamEvent[];
      /**
       * The lifecycle of those events, when the caller keeps it folded (the processor evolves it event by event):
       * then `history` is not read and may be empty. It must equal `lifecycleStateOf` of history's approval events;
       * rebuilding it from history costs a pass over the whole stream per execution.
       */
      lifecycleBefore?: LifecycleState;
      reconcilerVersion: string;
      /** The id a MismatchDetected would get (the processor derives it from stream, execution and version). */
      mismatchId: string;
      /**
       * Re-runs (`reconcile --since`): record the verdict only when it differs (verdict or kind) from the latest one
       * recorded for this execution by any reconciler version.
       */
      onlyIfChanged?: boolean;
      /**
       * What the LLM judge said, when `judgeRequest` asked for it (docs/reconciliation.md, "The LLM judge"). Only
       * used to resolve an UNCLEAR of a natural-language-only approval; ignored otherwise.
       */
      judgement?: JudgeOutcome;
    }
  | {
      /**
       * A revocation was recorded after executions it covers (it happened before they started: spooled during an
       * outage, or sent by another client): an execution recorded before it and answered MATCH or UNCLEAR becomes
       * `approval_revoked`. Sent by the processor for each such execution when it handles the revocation.
       */
      type: 'ReviseForLateRevocation';
      execution: ExecutionLoggedData;
      reconcilerVersion: string;
      /** The id the new MismatchDetected gets (the processor derives it from stream, execution, version). */
      mismatchId: string;
    }
  | { type: 'CheckApprovalUsage'; approvalId: string; now: string; reconcilerVersion: string; mismatchId: string }
  | {
      type: 'ReviewMismatch';
      data: Omit<MismatchReviewedData, 'reviewedAt'>;
      now: string;
    };

export interface ReconciliationState {
  lifecycle: LifecycleState;
  /** `executionId` + reconcilerVersion of every verdict already recorded. */
  reconciled: GrowingSet<string>;
  /** The latest verdict recorded for each execution, whatever the version: `MATCH`, `UNCLEAR:<kind>`, `MISMATCH:<kind>`. */
  latest: GrowingMap<string, string>;
  /** Approval ids already flagged `approval_unused`. */
  unusedFlagged: GrowingSet<string>;
  mismatches: GrowingMap<string, { detected: MismatchDetectedData; review?: MismatchReviewedData }>;
}

export class MismatchNotFoundError extends LedgerError {
  readonly code = 'MISMATCH.NOT_FOUND';
  constructor(readonly mismatchId: string) {
    super(`Mismatch ${mismatchId} is not in this stream`);
  }
}

export class MismatchAlreadyReviewedError extends LedgerError {
  readonly code = 'MISMATCH.ALREADY_REVIEWED';
  constructor(
    readonly mismatchId: string,
    readonly review: MismatchReviewedData,
  ) {
    super(
      `Mismatch ${mismatchId} was already reviewed by ${review.reviewer} at ${review.reviewedAt} as ${review.resolution}`,
    );
  }
}

/** Explanations quote commands (up to 64 KiB); the stored text stays well under the schema's limit. */
export const MAX_EXPLANATION_CHARS = 8192;
const clip = (text: string): string =>
  text.length <= MAX_EXPLANATION_CHARS ? text : `${text.slice(0, MAX_EXPLANATION_CHARS - 1)}…`;

const verdictKey = (executionId: string, reconcilerVersion: string) => `${executionId}\u0000${reconcilerVersion}`;

export const initialReconciliationState = (stream: 'approval' | 'session' = 'approval'): ReconciliationState => ({
  lifecycle: initialLifecycleState(stream),
  reconciled: GrowingSet.empty(),
  latest: GrowingMap.empty(),
  unusedFlagged: GrowingSet.empty(),
  mismatches: GrowingMap.empty(),
});

export function evolveReconciliation(state: ReconciliationState, event: StreamEvent): ReconciliationState {
  switch (event.type) {
    case 'ApprovalGranted':
    case 'ApprovalRejected':
    case 'ApprovalRevoked':
    case 'ExecutionLogged':
      return { ...state, lifecycle: evolveLifecycle(state.lifecycle, event) };
    case 'ExecutionReconciled':
    case 'ReconciliationUnclear':
      return {
        ...state,
        reconciled: state.reconciled.add(verdictKey(event.data.executionId, event.data.reconcilerVersion)),
        latest: state.latest.set(event.data.executionId, signatureOf(event)!),
      };
    case 'MismatchDetected': {
      const mismatches = state.mismatches.set(event.data.mismatchId, { detected: event.data });
      const next = { ...state, mismatches };
      if (event.data.executionId !== undefined) {
        next.reconciled = state.reconciled.add(verdictKey(event.data.executionId, event.data.reconcilerVersion));
        next.latest = state.latest.set(event.data.executionId, signatureOf(event)!);
      }
      if (event.data.kind === 'approval_unused' && event.data.approvalId !== undefined) {
        next.unusedFlagged = state.unusedFlagged.add(event.data.approvalId);
      }
      return next;
    }
    case 'MismatchReviewed': {
      const found = state.mismatches.get(event.data.mismatchId);
      if (!found) return state;
      return {
        ...state,
        mismatches: state.mismatches.set(event.data.mismatchId, { ...found, review: event.data }),
      };
    }
  }
}

export function decideReconciliation(
  command: ReconciliationCommand,
  state: ReconciliationState,
): ReconciliationEvent[] {
  switch (command.type) {
    case 'ReconcileExecution':
      return decideExecution(command, state);
    case 'ReviseForLateRevocation':
      return reviseForLateRevocation(command, state);
    case 'CheckApprovalUsage': {
      if (state.unusedFlagged.has(command.approvalId)) return [];
      const found = unusedApprovalFinding(state.lifecycle, command.now);
      if (!found) return [];
      const grant = state.lifecycle.granted!;
      return [
        {
          type: 'MismatchDetected',
          data: {
            mismatchId: command.mismatchId,
            approvalId: command.approvalId,
            kind: found.kind,
            severity: found.severity,
            explanation: clip(found.explanation),
            approved: { instruction: grant.instruction, commands: grant.approvedCommands },
            reconcilerVersion: command.reconcilerVersion,
          },
        },
      ];
    }
    case 'ReviewMismatch': {
      const found = state.mismatches.get(command.data.mismatchId);
      if (!found) throw new MismatchNotFoundError(command.data.mismatchId);
      if (found.review) {
        const { reviewedAt: _at, ...previous } = found.review;
        if (sameReview(previous, command.data)) return [];
        throw new MismatchAlreadyReviewedError(command.data.mismatchId, found.review);
      }
      return [{ type: 'MismatchReviewed', data: { ...command.data, reviewedAt: command.now } }];
    }
  }
}

/** What a verdict says, without the words: equal signatures mean an unchanged verdict. */
export function signatureOf(event: ReconciliationEvent): string | undefined {
  switch (event.type) {
    case 'ExecutionReconciled':
      return 'MATCH';
    case 'ReconciliationUnclear':
      return `UNCLEAR:${event.data.kind ?? ''}`;
    case 'MismatchDetected':
      return `MISMATCH:${event.data.kind}`;
    case 'MismatchReviewed':
      return undefined;
  }
}

function sameReview(a: Omit<MismatchReviewedData, 'reviewedAt'>, b: Omit<MismatchReviewedData, 'reviewedAt'>) {
  return a.reviewer === b.reviewer && a.resolution === b.resolution && (a.note ?? '') === (b.note ?? '');
}

function decideExecution(
  command: Extract<ReconciliationCommand, { type: 'ReconcileExecution' }>,
  state: ReconciliationState,
): ReconciliationEvent[] {
  const { execution, reconcilerVersion } = command;
  if (state.reconciled.has(verdictKey(execution.executionId, reconcilerVersion))) return [];
  const decided = decideVerdict(withKnownRevocation(command, state));
  const previous = state.latest.get(execution.executionId);
  if (command.onlyIfChanged && previous !== undefined && decided.every((e) => signatureOf(e) === previous)) return [];
  return decided;
}

/**
 * Whether the LLM judge should be asked about this execution, and what: only when no verdict of this reconciler
 * version is recorded for it yet, the stream is an approval's, the approval lists no commands (natural language
 * only), no lifecycle kind applies, and the deterministic verdict is UNCLEAR. `undefined`: decide without a judge.
 */
export function judgeRequest(
  command: Extract<ReconciliationCommand, { type: 'ReconcileExecution' }>,
  state: ReconciliationState,
): JudgeInput | undefined {
  const { judgement: _ignored, ...deterministic } = command;
  const { execution, reconcilerVersion } = deterministic;
  if (execution.approvalId === undefined) return undefined;
  if (state.reconciled.has(verdictKey(execution.executionId, reconcilerVersion))) return undefined;
  const decided = decideVerdict(withKnownRevocation(deterministic, state)); // a lifecycle kind is a MISMATCH, so UNCLEAR means none applies
  if (decided.length !== 1 || decided[0]!.type !== 'ReconciliationUnclear') return undefined;
  const grant = lifecycleBefore(command, 'approval').granted;
  if (!grant || !judgeApplies(grant, 'UNCLEAR')) return undefined;
  return { instruction: grant.instruction, executed: [execution.command], candidateVerdict: 'UNCLEAR' };
}

/**
 * The command with the stream's revocation as the decider knows it now, when the events before the execution hold
 * none: a revocation recorded after the execution (spooled, drained later) still counts when it happened before the
 * execution started (`lifecycleMismatch` compares occurrence times). Session streams have no lifecycle.
 */
function withKnownRevocation<C extends Extract<ReconciliationCommand, { type: 'ReconcileExecution' }>>(
  command: C,
  state: ReconciliationState,
): C {
  const known = state.lifecycle.revoked;
  if (!known || command.execution.approvalId === undefined) return command;
  const before = lifecycleBefore(command, 'approval');
  if (before.revoked) return command;
  return { ...command, history: [], lifecycleBefore: { ...before, revoked: known } };
}

/**
 * `ReviseForLateRevocation`: the stream's revocation happened at or before the execution started, and the latest
 * verdict recorded for it (any version) is MATCH or UNCLEAR: a MismatchDetected `approval_revoked`, decided as a
 * verdict with the revocation known. Nothing once that is recorded, or when the execution already has a mismatch.
 */
function reviseForLateRevocation(
  command: Extract<ReconciliationCommand, { type: 'ReviseForLateRevocation' }>,
  state: ReconciliationState,
): ReconciliationEvent[] {
  const { execution } = command;
  const latest = state.latest.get(execution.executionId);
  if (latest === undefined || latest.startsWith('MISMATCH:')) return [];
  if (execution.approvalId === undefined || !state.lifecycle.revoked) return [];
  const decided = decideVerdict({
    type: 'ReconcileExecution',
    execution,
    history: [],
    lifecycleBefore: { ...state.lifecycle, stream: 'approval', executions: [] },
    reconcilerVersion: command.reconcilerVersion,
    mismatchId: command.mismatchId,
  });
  return decided.filter((e) => e.type === 'MismatchDetected' && e.data.kind === 'approval_revoked');
}

/** The lifecycle before the execution: as the caller folded it, else from the history. */
function lifecycleBefore(
  command: Extract<ReconciliationCommand, { type: 'ReconcileExecution' }>,
  stream: 'approval' | 'session',
): LifecycleState {
  const folded = command.lifecycleBefore;
  if (folded) return folded.stream === stream ? folded : { ...folded, stream };
  return lifecycleStateOf(
    stream,
    command.history.filter((e): e is ApprovalStreamEvent => APPROVAL_TYPES.has(e.type)),
  );
}

function decideVerdict(command: Extract<ReconciliationCommand, { type: 'ReconcileExecution' }>): ReconciliationEvent[] {
  const { execution, reconcilerVersion } = command;
  const stream = execution.approvalId !== undefined ? 'approval' : 'session';
  const before = lifecycleBefore(command, stream);
  const grant = before.granted;
  const approved = {
    ...(grant
      ? { instruction: grant.instruction }
      : before.rejected?.instruction
        ? { instruction: before.rejected.instruction }
        : {}),
    commands: grant?.approvedCommands ?? [],
  };
  const mismatch = (
    kind: MismatchKind,
    severity: Severity,
    explanation: string,
    riskRules?: readonly string[],
    judge?: JudgeRecord,
    kinds?: readonly string[],
  ): ReconciliationEvent => ({
    type: 'MismatchDetected',
    data: {
      mismatchId: command.mismatchId,
      ...(execution.approvalId !== undefined ? { approvalId: execution.approvalId } : {}),
      ...(execution.sessionId !== undefined ? { sessionId: execution.sessionId } : {}),
      executionId: execution.executionId,
      kind,
      kinds: [...new Set([kind, ...(kinds ?? [])])].slice(0, 16),
      severity,
      assessedRisk,
      explanation: clip(explanation),
      approved,
      executed: { command: execution.command },
      ...(riskRules && riskRules.length > 0 ? { riskRules: [...riskRules] } : {}),
      reconcilerVersion,
      ...(judge ? { judge } : {}),
    },
  });

  const result: ReconciliationResult | undefined =
    grant && stream !== 'session'
      ? reconcile(
          {
            instruction: grant.instruction,
            approvedCommands: grant.approvedCommands,
            ...(grant.scope ? { scope: grant.scope } : {}),
            riskLevel: grant.riskLevel,
          },
          execution.command,
        )
      : undefined;
  // `reconcile` assesses the command as `assessCommandRisk` does (same parse, same scope): not parsed twice.
  const assessedRisk = result?.assessedRisk ?? assessCommandRisk(execution.command, grant?.scope);
  const lifecycle = lifecycleMismatch(before, execution);
  if (stream === 'session')
    return [withAssessedRisk(sessionVerdict(execution, reconcilerVersion, mismatch), assessedRisk)];
  if (lifecycle) {
    // Lifecycle wins; what the command itself shows raises the severity and is named in the explanation.
    const severity =
      result?.verdict === 'MISMATCH' && result.severity
        ? maxSeverity(lifecycle.severity, result.severity)
        : lifecycle.severity;
    const extra = result?.verdict === 'MISMATCH' ? `; moreover ${result.explanation}` : '';
    // a token replay that also ran an unapproved command is both: filtering by either finds it
    const also = result?.verdict === 'MISMATCH' ? (result.kinds ?? (result.kind ? [result.kind] : [])) : [];
    return [mismatch(lifecycle.kind, severity, lifecycle.explanation + extra, result?.riskRules, undefined, also)];
  }
  if (result!.verdict === 'UNCLEAR' && command.judgement && judgeApplies(grant!, 'UNCLEAR')) {
    return [
      withAssessedRisk(judgedVerdict(result!, command.judgement, execution, reconcilerVersion, mismatch), assessedRisk),
    ];
  }
  return [withAssessedRisk(verdictOf(result!, execution, reconcilerVersion, mismatch), assessedRisk)];
}

/** The verdict with the assessed risk of what ran (and, for an UNCLEAR, its kinds). */
function withAssessedRisk(event: ReconciliationEvent, assessedRisk: AssessedRisk): ReconciliationEvent {
  switch (event.type) {
    case 'ExecutionReconciled':
      return { ...event, data: { ...event.data, assessedRisk } };
    case 'ReconciliationUnclear':
      return {
        ...event,
        data: { ...event.data, ...(event.data.kind ? { kinds: [event.data.kind] } : {}), assessedRisk },
      };
    case 'MismatchDetected':
      return { ...event, data: { ...event.data, assessedRisk } };
    default:
      return event;
  }
}

const clipTo = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/**
 * The verdict of a deterministic UNCLEAR once the judge was asked (rules in `verdictWithJudge`): its MATCH becomes
 * ExecutionReconciled unless a risk rule fired, its MISMATCH a `command_not_approved` mismatch (severity of the risk
 * rules that fired, else medium), anything else stays ReconciliationUnclear. The judge's record goes with it.
 */
function judgedVerdict(
  result: ReconciliationResult,
  outcome: JudgeOutcome,
  execution: ExecutionLoggedData,
  reconcilerVersion: string,
  mismatch: MismatchFactory,
): ReconciliationEvent {
  const riskRules = result.riskRules ?? [];
  const verdict = verdictWithJudge('UNCLEAR', outcome, riskRules);
  const answered = isJudgeAnswer(outcome);
  const judge: JudgeRecord = {
    model: outcome.model,
    promptVersion: outcome.promptVersion,
    ...(outcome.promptHash ? { promptHash: outcome.promptHash } : {}),
    ...(answered
      ? { verdict: outcome.verdict, rationale: clipTo(outcome.rationale, JUDGE_RATIONALE_MAX) }
      : { error: clipTo(outcome.error, JUDGE_ERROR_MAX) }),
    latencyMs: Math.max(0, Math.round(outcome.latencyMs)),
    applied: answered && verdict === outcome.verdict,
  };
  const said = answered
    ? `LLM judge ${judge.model} (${judge.promptVersion}) answered ${outcome.verdict}: ${outcome.rationale}`
    : `LLM judge ${judge.model} (${judge.promptVersion}) gave no answer (${outcome.error})`;
  if (verdict === 'MATCH') {
    return {
      type: 'ExecutionReconciled',
      data: {
        executionId: execution.executionId,
        verdict: 'MATCH',
        explanation: clip(`${said}; the deterministic reconciler could not decide: ${result.explanation}`),
        reconcilerVersion,
        judge,
      },
    };
  }
  if (verdict === 'MISMATCH') {
    return mismatch(
      'command_not_approved',
      riskHitsSeverity(execution.command) ?? 'medium',
      `${said}; the deterministic reconciler could not decide: ${result.explanation}`,
      riskRules,
      judge,
    );
  }
  const refused =
    answered && outcome.verdict === 'MATCH'
      ? `; its MATCH is not applied because risk rules fired (${riskRules.join(', ')})`
      : '';
  return {
    type: 'ReconciliationUnclear',
    data: {
      executionId: execution.executionId,
      ...(isUnclearKind(result.kind) ? { kind: result.kind } : {}),
      reason: clip(`${result.explanation}; ${said}${refused}`),
      needsHumanReview: true,
      reconcilerVersion,
      judge,
    },
  };
}

/** The highest severity of the risk rules the command triggers, if any. */
function riskHitsSeverity(command: string): Severity | undefined {
  const hits = riskHits(parseCommandLine(command).commands);
  return hits.length === 0 ? undefined : hits.reduce<Severity>((s, h) => maxSeverity(s, h.rule.severity), 'low');
}

const APPROVAL_TYPES: ReadonlySet<string> = new Set([
  'ApprovalGranted',
  'ApprovalRejected',
  'ApprovalRevoked',
  'ExecutionLogged',
]);

type MismatchFactory = (
  kind: MismatchKind,
  severity: Severity,
  explanation: string,
  riskRules?: readonly string[],
  judge?: JudgeRecord,
  kinds?: readonly string[],
) => ReconciliationEvent;

function verdictOf(
  result: ReconciliationResult,
  execution: ExecutionLoggedData,
  reconcilerVersion: string,
  mismatch: MismatchFactory,
): ReconciliationEvent {
  switch (result.verdict) {
    case 'MATCH':
      return {
        type: 'ExecutionReconciled',
        data: {
          executionId: execution.executionId,
          verdict: 'MATCH',
          explanation: clip(result.explanation),
          reconcilerVersion,
        },
      };
    case 'UNCLEAR':
      return {
        type: 'ReconciliationUnclear',
        data: {
          executionId: execution.executionId,
          ...(isUnclearKind(result.kind) ? { kind: result.kind } : {}),
          reason: clip(result.explanation),
          needsHumanReview: true,
          reconcilerVersion,
        },
      };
    case 'MISMATCH':
      return mismatch(
        (result.kind as MismatchKind | undefined) ?? 'command_not_approved',
        result.severity ?? 'medium',
        result.explanation,
        result.riskRules,
        undefined,
        result.kinds,
      );
  }
}

const UNCLEAR_KINDS: ReadonlySet<string> = new Set([
  'unverifiable_variable',
  'vague_instruction',
  'low_confidence',
  'partial_execution',
]);
const isUnclearKind = (
  kind: string | undefined,
): kind is 'unverifiable_variable' | 'vague_instruction' | 'low_confidence' | 'partial_execution' =>
  kind !== undefined && UNCLEAR_KINDS.has(kind);

/**
 * Executions that needed no approval (session streams): nothing to compare with, but a destructive action is a
 * `policy_violation` (design section 3: a not-required action that is in fact destructive).
 */
function sessionVerdict(
  execution: ExecutionLoggedData,
  reconcilerVersion: string,
  mismatch: MismatchFactory,
): ReconciliationEvent {
  const hits = riskHits(parseCommandLine(execution.command).commands).filter((h) => h.rule.destructive);
  if (hits.length > 0) {
    const severity = hits.reduce<Severity>((s, h) => maxSeverity(s, h.rule.severity), 'low');
    return mismatch(
      'policy_violation',
      severity,
      `\`${execution.command}\` ran without an approval but is destructive: ${hits.map((h) => h.reason).join('; ')}`,
      [...new Set(hits.map((h) => h.rule.id))],
    );
  }
  return {
    type: 'ExecutionReconciled',
    data: {
      executionId: execution.executionId,
      verdict: 'MATCH',
      explanation: 'needed no approval and triggers no destructive risk rule',
      reconcilerVersion,
    },
  };
}

export const reconciliationDecider = {
  decide: decideReconciliation,
  evolve: evolveReconciliation,
  initialState: initialReconciliationState,
};
