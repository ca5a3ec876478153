/**
 * Lifecycle checks: was the approval, as the stream held it when the execution was logged, good for this execution?
 * They need the stream's state, so they live apart from `reconcile` (which compares commands only), and they win
 * over it. Pure: time comes from the events or the caller's `now`. Times are when things happened, not when the
 * ledger recorded them: an execution's `startedAt`, a grant's `expiresAt`, a revocation's `occurredAt` (the
 * gateway's time, kept by a spooled command; older events without it: `revokedAt`, the time it was recorded).
 */
import type {
  ApprovalGrantedData,
  ApprovalRejectedData,
  ApprovalRevokedData,
  ApprovalStreamEvent,
  ExecutionLoggedData,
} from '../approvals/approval.events.js';
import type { MismatchKind, Severity } from './reconciliation.types.js';

export type LifecycleKind = Extract<
  MismatchKind,
  | 'no_approval'
  | 'approval_rejected'
  | 'approval_expired'
  | 'approval_revoked'
  | 'max_executions_exceeded'
  | 'token_replay'
  | 'approval_unused'
>;

export interface LifecycleState {
  /** `session` streams hold executions that needed no approval: no lifecycle applies to them. */
  readonly stream: 'approval' | 'session';
  readonly granted?: ApprovalGrantedData;
  readonly rejected?: ApprovalRejectedData;
  readonly revoked?: ApprovalRevokedData;
  /**
   * Executions recorded so far, in stream order; always empty for a session stream, where no lifecycle applies (a long
   * session would otherwise copy a growing list for every execution).
   */
  readonly executions: readonly ExecutionLoggedData[];
}

export interface LifecycleFinding {
  readonly kind: LifecycleKind;
  readonly severity: Severity;
  readonly explanation: string;
}

export const LIFECYCLE_SEVERITY: Readonly<Record<LifecycleKind, Severity>> = {
  no_approval: 'high',
  approval_rejected: 'high',
  approval_revoked: 'high',
  token_replay: 'high',
  approval_expired: 'medium',
  max_executions_exceeded: 'medium',
  approval_unused: 'low',
};

export const initialLifecycleState = (stream: 'approval' | 'session'): LifecycleState => ({ stream, executions: [] });

export function evolveLifecycle(state: LifecycleState, event: ApprovalStreamEvent): LifecycleState {
  switch (event.type) {
    case 'ApprovalGranted':
      return { ...state, granted: event.data };
    case 'ApprovalRejected':
      return { ...state, rejected: event.data };
    case 'ApprovalRevoked':
      return { ...state, revoked: event.data };
    case 'ExecutionLogged':
      return state.stream === 'session' ? state : { ...state, executions: [...state.executions, event.data] };
  }
}

/**
 * The fold of `history` with `evolveLifecycle`, in one pass: the decider builds it for every execution from the
 * events before it, and evolving copies the executions list per execution (quadratic in a stream's length).
 */
export function lifecycleStateOf(
  stream: 'approval' | 'session',
  history: readonly ApprovalStreamEvent[],
): LifecycleState {
  let granted: ApprovalGrantedData | undefined;
  let rejected: ApprovalRejectedData | undefined;
  let revoked: ApprovalRevokedData | undefined;
  const executions: ExecutionLoggedData[] = [];
  for (const event of history) {
    if (event.type === 'ApprovalGranted') granted = event.data;
    else if (event.type === 'ApprovalRejected') rejected = event.data;
    else if (event.type === 'ApprovalRevoked') revoked = event.data;
    else if (stream === 'approval') executions.push(event.data);
  }
  return {
    stream,
    ...(granted ? { granted } : {}),
    ...(rejected ? { rejected } : {}),
    ...(revoked ? { revoked } : {}),
    executions,
  };
}

/** When the revocation happened: its `occurredAt`, or for events recorded before that existed, when it was recorded. */
export const revocationOccurredAt = (revoked: ApprovalRevokedData): string => revoked.occurredAt ?? revoked.revokedAt;

/** When the grant was decided: its `occurredAt`, else when it was recorded. */
export const grantOccurredAt = (granted: ApprovalGrantedData): string => granted.occurredAt ?? granted.grantedAt;

const finding = (kind: LifecycleKind, explanation: string): LifecycleFinding => ({
  kind,
  severity: LIFECYCLE_SEVERITY[kind],
  explanation,
});

/**
 * The lifecycle mismatch of one execution given the stream as it stood before it (earlier executions only), or null.
 * Order: a missing, rejected or revoked approval says the most; then expiry; then token reuse and the count.
 * Tokens: an approval that allows one execution (no `maxExecutions`, or 1) has a single-use token, so the same token
 * hash on a second execution is `token_replay`; with `maxExecutions` N > 1 the token may be presented N times and
 * the N+1th execution is `max_executions_exceeded`.
 */
export function lifecycleMismatch(state: LifecycleState, execution: ExecutionLoggedData): LifecycleFinding | null {
  if (state.stream === 'session') return null;
  const approvalId = execution.approvalId ?? '?';
  if (state.rejected) {
    return finding(
      'approval_rejected',
      `approval ${approvalId} was rejected by ${state.rejected.by} at ${state.rejected.rejectedAt} ` +
        `("${state.rejected.reason}"), yet \`${execution.command}\` ran`,
    );
  }
  const grant = state.granted;
  if (!grant) {
    return finding('no_approval', `no approval ${approvalId} was granted before \`${execution.command}\` ran`);
  }
  if (state.revoked && execution.startedAt >= revocationOccurredAt(state.revoked)) {
    const recorded =
      state.revoked.occurredAt !== undefined && state.revoked.occurredAt !== state.revoked.revokedAt
        ? ` (recorded ${state.revoked.revokedAt})`
        : '';
    return finding(
      'approval_revoked',
      `approval ${approvalId} was revoked by ${state.revoked.by} at ${revocationOccurredAt(state.revoked)}${recorded}; ` +
        `the execution started at ${execution.startedAt}`,
    );
  }
  if (grant.expiresAt !== undefined && execution.startedAt > grant.expiresAt) {
    return finding(
      'approval_expired',
      `approval ${approvalId} expired at ${grant.expiresAt}; the execution started at ${execution.startedAt}`,
    );
  }
  const earlier = state.executions.filter((e) => e.executionId !== execution.executionId);
  const singleUse = grant.maxExecutions === undefined || grant.maxExecutions === 1;
  if (singleUse && execution.tokenHash !== undefined) {
    const replayed = earlier.find((e) => e.tokenHash === execution.tokenHash);
    if (replayed) {
      return finding(
        'token_replay',
        `the single-use token of approval ${approvalId} was already used by execution ${replayed.executionId}`,
      );
    }
  }
  if (grant.maxExecutions !== undefined && earlier.length >= grant.maxExecutions) {
    return finding(
      'max_executions_exceeded',
      `approval ${approvalId} allows ${grant.maxExecutions} execution(s); this is execution ${earlier.length + 1}`,
    );
  }
  return null;
}

/**
 * `approval_unused`: the approval expired (`expiresAt` < `now`) and nothing ran under it before it expired.
 * Rejected or revoked approvals are not "unused": someone already decided they should not run.
 */
export function unusedApprovalFinding(state: LifecycleState, now: string): LifecycleFinding | null {
  const grant = state.granted;
  if (state.stream !== 'approval' || !grant || grant.expiresAt === undefined) return null;
  if (state.rejected || state.revoked || grant.expiresAt >= now) return null;
  const expiresAt = grant.expiresAt;
  if (state.executions.some((e) => e.startedAt <= expiresAt)) return null;
  return finding(
    'approval_unused',
    `approval ${grant.approvalId} ("${grant.instruction}") expired at ${expiresAt} and nothing ran under it`,
  );
}
