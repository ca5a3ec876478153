import fc from 'fast-check';
import {
  ApprovalAlreadyDecidedError,
  ApprovalNotFoundError,
  approvalDecider,
  evolve,
  initialState,
} from './approval.decider.js';
import type { ApprovalStreamEvent, ExecutionLoggedData } from './approval.events.js';
import { DeciderSpecification } from '../testing/decider-specification.js';

const now = '2026-11-23T10:00:00.000Z';
const grant = {
  approvalId: 'A1',
  instruction: 'list containers',
  approvedCommands: ['docker compose ps'],
  riskLevel: 'safe' as const,
  decision: 'approved' as const,
  approvedBy: 'alice',
  requestedBy: { workerId: 'w1' },
};
const granted: ApprovalStreamEvent = { type: 'ApprovalGranted', data: { ...grant, grantedAt: now } };
const execution = (executionId: string): ExecutionLoggedData => ({
  executionId,
  approvalId: 'A1',
  workerId: 'w1',
  toolName: 'shell',
  command: 'docker compose ps',
  output: {
    text: '',
    truncated: false,
    sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    bytes: 0,
  },
  exitCode: 0,
  artifacts: [],
  startedAt: now,
  finishedAt: now,
  durationMs: 0,
});

const spec = DeciderSpecification.for(approvalDecider);

describe('approval decider', () => {
  describe('GrantApproval', () => {
    it('grants a new approval, stamped with the command time', () => {
      spec.given([]).when({ type: 'GrantApproval', data: grant, now }).then([granted]);
    });
    it('decides nothing when the same grant is retried', () => {
      spec.given([granted]).when({ type: 'GrantApproval', data: grant, now: '2026-11-23T11:00:00.000Z' }).thenNothing();
    });
    it('decides nothing for a grant of an approval granted before, even revoked since: the command path compares content', () => {
      const revoked: ApprovalStreamEvent = {
        type: 'ApprovalRevoked',
        data: { approvalId: 'A1', by: 'b', reason: 'r', revokedAt: now },
      };
      spec.given([granted, revoked]).when({ type: 'GrantApproval', data: grant, now }).thenNothing();
    });
    it('refuses to grant a rejected approval', () => {
      const rejected: ApprovalStreamEvent = {
        type: 'ApprovalRejected',
        data: { approvalId: 'A1', by: 'b', reason: 'r', rejectedAt: now },
      };
      spec.given([rejected]).when({ type: 'GrantApproval', data: grant, now }).thenThrows(ApprovalAlreadyDecidedError);
    });
  });

  describe('RejectApproval and RevokeApproval', () => {
    const reject = { type: 'RejectApproval' as const, data: { approvalId: 'A1', by: 'bob', reason: 'too risky' }, now };
    const revoke = { type: 'RevokeApproval' as const, data: { approvalId: 'A1', by: 'bob', reason: 'mistake' }, now };
    it('rejects an undecided approval, once', () => {
      const [rejected] = spec.given([]).when(reject).events();
      expect(rejected).toEqual({ type: 'ApprovalRejected', data: { ...reject.data, rejectedAt: now } });
      spec.given([rejected!]).when(reject).thenNothing();
    });
    it('refuses to reject a granted approval (revoke it instead)', () => {
      spec.given([granted]).when(reject).thenThrows(ApprovalAlreadyDecidedError);
    });
    it('revokes a granted approval, once', () => {
      const [revoked] = spec.given([granted]).when(revoke).events();
      expect(revoked).toEqual({ type: 'ApprovalRevoked', data: { ...revoke.data, revokedAt: now } });
      spec.given([granted, revoked!]).when(revoke).thenNothing();
    });
    it('refuses to revoke an approval that was never granted', () => {
      spec.given([]).when(revoke).thenThrows(ApprovalNotFoundError);
    });
  });

  describe('LogExecution', () => {
    it.each([
      ['no approval', []],
      ['a granted approval', [granted]],
      [
        'a rejected approval',
        [{ type: 'ApprovalRejected', data: { approvalId: 'A1', by: 'b', reason: 'r', rejectedAt: now } }],
      ],
      [
        'a revoked approval',
        [granted, { type: 'ApprovalRevoked', data: { approvalId: 'A1', by: 'b', reason: 'r', revokedAt: now } }],
      ],
    ] as [string, ApprovalStreamEvent[]][])('records an execution for %s: never refused', (_label, history) => {
      spec
        .given(history)
        .when({ type: 'LogExecution', data: execution('x1'), now })
        .then([{ type: 'ExecutionLogged', data: execution('x1') }]);
    });

    it('decides nothing for any retried execution, whatever came before (property)', () => {
      fc.assert(
        fc.property(
          fc.uniqueArray(fc.stringMatching(/^[a-z0-9]{1,8}$/), { minLength: 1, maxLength: 20 }),
          fc.nat(),
          (ids, pick) => {
            const history: ApprovalStreamEvent[] = [
              granted,
              ...ids.map((id) => ({ type: 'ExecutionLogged' as const, data: execution(id) })),
            ];
            const retried = ids[pick % ids.length]!;
            spec
              .given(history)
              .when({ type: 'LogExecution', data: execution(retried), now })
              .thenNothing();
          },
        ),
      );
    });
  });

  describe('folding a stream', () => {
    // Issue 14's bound: a 50,000-event approval stream folds in under a second. Copying the execution ids per event
    // took ~180 s; growing them takes tens of milliseconds, so the bound (on the fold's own CPU time, which other
    // processes on a shared machine do not inflate) has a wide margin.
    it('folds a 50,000-event approval stream in under a second of CPU, knowing every execution', () => {
      const events: ApprovalStreamEvent[] = [granted];
      for (let i = 0; i < 49_999; i++) events.push({ type: 'ExecutionLogged', data: execution(`e${i}`) });
      const before = process.cpuUsage();
      const state = events.reduce(evolve, initialState());
      const spent = process.cpuUsage(before);
      expect((spent.user + spent.system) / 1000).toBeLessThan(1000);
      expect(state.executionIds.size).toBe(49_999);
      spec
        .given(events)
        .when({ type: 'LogExecution', data: execution('e49998'), now })
        .thenNothing();
    });
  });
});
