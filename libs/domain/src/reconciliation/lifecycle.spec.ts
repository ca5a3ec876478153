import type { ApprovalGrantedData, ApprovalStreamEvent, ExecutionLoggedData } from '../approvals/approval.events.js';
import fc from 'fast-check';
import { anExecutionLogged } from '../testing/execution-logged.fixture.js';
import {
  evolveLifecycle,
  initialLifecycleState,
  lifecycleMismatch,
  lifecycleStateOf,
  unusedApprovalFinding,
} from './lifecycle.js';

const grant = (overrides: Partial<ApprovalGrantedData> = {}): ApprovalStreamEvent => ({
  type: 'ApprovalGranted',
  data: {
    approvalId: 'A1',
    instruction: 'restart the api',
    approvedCommands: [],
    riskLevel: 'moderate',
    decision: 'approved',
    approvedBy: 'alice',
    requestedBy: {},
    grantedAt: '2026-11-23T10:00:00.000Z',
    ...overrides,
  },
});
const run = (executionId: string, overrides: Partial<ExecutionLoggedData> = {}): ExecutionLoggedData =>
  anExecutionLogged({
    executionId,
    command: 'systemctl restart api',
    finishedAt: '2026-11-23T10:05:01.000Z',
    durationMs: 1000,
    ...overrides,
  });

/** given(history).when(execution) → the lifecycle kind, or null. */
const given = (history: ApprovalStreamEvent[], stream: 'approval' | 'session' = 'approval') => ({
  when: (execution: ExecutionLoggedData) =>
    lifecycleMismatch(lifecycleStateOf(stream, history), execution)?.kind ?? null,
});

describe('lifecycle checks', () => {
  it('a session stream has no lifecycle: nothing was needed', () => {
    expect(given([], 'session').when(run('E1', { approvalId: undefined, sessionId: 'S1' }))).toBeNull();
  });

  it('a granted, live approval within its count: null', () => {
    expect(given([grant({ maxExecutions: 2, expiresAt: '2026-11-23T11:00:00.000Z' })]).when(run('E1'))).toBeNull();
  });

  it('a rejection says more than a missing grant', () => {
    const rejected: ApprovalStreamEvent = {
      type: 'ApprovalRejected',
      data: { approvalId: 'A1', by: 'bob', reason: 'no', rejectedAt: '2026-11-23T10:00:00.000Z' },
    };
    expect(given([rejected]).when(run('E1'))).toBe('approval_rejected');
    expect(given([]).when(run('E1'))).toBe('no_approval');
  });

  describe('judged by when things happened, not when the ledger recorded them', () => {
    // The execution started at 10:05; the ledger was down from 10:02 to 10:30 and recorded what was spooled at 10:30.
    const revocation = (occurredAt: string | undefined): ApprovalStreamEvent => ({
      type: 'ApprovalRevoked',
      data: {
        approvalId: 'A1',
        by: 'bob',
        reason: 'incident',
        revokedAt: '2026-11-23T10:30:00.000Z',
        ...(occurredAt !== undefined ? { occurredAt } : {}),
      },
    });

    it('given a revocation that happened before the execution started but was recorded after, then approval_revoked', () => {
      const found = lifecycleMismatch(
        lifecycleStateOf('approval', [grant(), revocation('2026-11-23T10:04:00.000Z')]),
        run('E1'),
      );
      expect(found?.kind).toBe('approval_revoked');
      expect(found?.explanation).toContain(
        'revoked by bob at 2026-11-23T10:04:00.000Z (recorded 2026-11-23T10:30:00.000Z)',
      );
    });

    it('given a revocation that happened after the execution started, then the execution was not after the revocation', () => {
      expect(given([grant(), revocation('2026-11-23T10:06:00.000Z')]).when(run('E1'))).toBeNull();
    });

    it('given an older revocation without occurredAt, then its recorded time is when it happened', () => {
      expect(given([grant(), revocation(undefined)]).when(run('E1'))).toBeNull();
      expect(given([grant(), revocation(undefined)]).when(run('E2', { startedAt: '2026-11-23T10:31:00.000Z' }))).toBe(
        'approval_revoked',
      );
    });
  });

  it('the same token without a count is a replay; a different token is not', () => {
    const first = run('E1', { tokenHash: 'c'.repeat(64) });
    const history = [grant(), { type: 'ExecutionLogged', data: first } as const];
    expect(given(history).when(run('E2', { tokenHash: 'c'.repeat(64) }))).toBe('token_replay');
    expect(given(history).when(run('E2', { tokenHash: 'd'.repeat(64) }))).toBeNull();
  });

  it('the execution itself in the history is not an earlier execution (replay-safe)', () => {
    const self = run('E1', { tokenHash: 'c'.repeat(64) });
    expect(given([grant({ maxExecutions: 1 }), { type: 'ExecutionLogged', data: self }]).when(self)).toBeNull();
  });

  it('approval_unused: expired, nothing started before the expiry', () => {
    const expiring = grant({ expiresAt: '2026-11-23T10:10:00.000Z' });
    const late = { type: 'ExecutionLogged', data: run('E1', { startedAt: '2026-11-23T10:20:00.000Z' }) } as const;
    const now = '2026-11-23T10:30:00.000Z';
    expect(unusedApprovalFinding(lifecycleStateOf('approval', [expiring]), now)?.kind).toBe('approval_unused');
    expect(unusedApprovalFinding(lifecycleStateOf('approval', [expiring, late]), now)?.kind).toBe('approval_unused');
    expect(unusedApprovalFinding(lifecycleStateOf('approval', [expiring]), '2026-11-23T10:05:00.000Z')).toBeNull();
  });

  it('the state of a history is its fold with evolveLifecycle, for any history', () => {
    const event = fc.oneof(
      fc.nat(3).map((n) => grant({ approvalId: `A${n}`, maxExecutions: n + 1 })),
      fc.nat(3).map((n): ApprovalStreamEvent => ({
        type: 'ApprovalRejected',
        data: { approvalId: 'A1', by: `bob${n}`, reason: 'no', rejectedAt: '2026-11-23T10:00:00.000Z' },
      })),
      fc.nat(3).map((n): ApprovalStreamEvent => ({
        type: 'ApprovalRevoked',
        data: { approvalId: 'A1', by: `bob${n}`, reason: 'no', revokedAt: '2026-11-23T10:00:00.000Z' },
      })),
      fc.nat(9).map((n): ApprovalStreamEvent => ({ type: 'ExecutionLogged', data: run(`E${n}`) })),
    );
    fc.assert(
      fc.property(
        fc.array(event, { maxLength: 30 }),
        fc.constantFrom('approval' as const, 'session' as const),
        (history, stream) => {
          expect(lifecycleStateOf(stream, history)).toEqual(
            history.reduce(evolveLifecycle, initialLifecycleState(stream)),
          );
        },
      ),
    );
  });
});
