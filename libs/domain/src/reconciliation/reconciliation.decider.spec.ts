import fc from 'fast-check';
import { anExecutionLogged } from '../testing/execution-logged.fixture.js';
import type { ApprovalGrantedData, ExecutionLoggedData } from '../approvals/approval.events.js';
import { DeciderSpecification } from '../testing/decider-specification.js';
import {
  MismatchAlreadyReviewedError,
  MismatchNotFoundError,
  reconciliationDecider,
  type ReconciliationCommand,
  type StreamEvent,
} from './reconciliation.decider.js';
import { MismatchDetectedData, RECONCILIATION_EVENT_SCHEMAS, verdictKinds } from './reconciliation.events.js';

const V = 'reconciler/test';
const M = '0f8e2a34-5b6c-8d7e-9f01-23456789abcd';
const t = (minute: number) => `2026-11-23T10:${String(minute).padStart(2, '0')}:00.000Z`;

const grant = (overrides: Partial<ApprovalGrantedData> = {}): StreamEvent => ({
  type: 'ApprovalGranted',
  data: {
    approvalId: 'A1',
    instruction: 'list the running containers',
    approvedCommands: ['docker compose ps'],
    riskLevel: 'safe',
    decision: 'approved',
    approvedBy: 'alice',
    requestedBy: { workerId: 'w1' },
    grantedAt: t(0),
    ...overrides,
  },
});
const rejected: StreamEvent = {
  type: 'ApprovalRejected',
  data: { approvalId: 'A1', by: 'bob', reason: 'not today', rejectedAt: t(0) },
};
const revoked = (at: string): StreamEvent => ({
  type: 'ApprovalRevoked',
  data: { approvalId: 'A1', by: 'bob', reason: 'oops', revokedAt: at },
});
const execution = (overrides: Partial<ExecutionLoggedData> = {}): ExecutionLoggedData =>
  anExecutionLogged({ startedAt: t(5), finishedAt: t(5), ...overrides });
const logged = (data: ExecutionLoggedData): StreamEvent => ({ type: 'ExecutionLogged', data });

const spec = DeciderSpecification.for(reconciliationDecider);

/** given(stream).whenReconciling(execution): the execution logged last, reconciled against what came before it. */
function given(history: StreamEvent[]) {
  return {
    whenReconciling: (data: ExecutionLoggedData) =>
      spec
        .given([...history, logged(data)])
        .when({ type: 'ReconcileExecution', execution: data, history, reconcilerVersion: V, mismatchId: M }),
  };
}

const kindOf = (events: readonly StreamEvent[]) =>
  events.map((e) => (e.type === 'MismatchDetected' ? `${e.type}:${e.data.kind}` : e.type));

describe('reconciliation decider', () => {
  describe('ReconcileExecution', () => {
    it('given a grant for `docker compose ps`, when exactly that ran, then ExecutionReconciled MATCH', () => {
      const events = given([grant()]).whenReconciling(execution()).events();
      expect(events).toEqual([
        {
          type: 'ExecutionReconciled',
          data: {
            executionId: 'E1',
            verdict: 'MATCH',
            explanation: expect.any(String),
            reconcilerVersion: V,
            assessedRisk: 'safe',
          },
        },
      ]);
    });

    it('given a grant for `docker compose ps`, when `docker compose down` ran, then MismatchDetected command_not_approved naming both', () => {
      const [event] = given([grant()])
        .whenReconciling(execution({ command: 'docker compose down' }))
        .events();
      expect(event).toMatchObject({
        type: 'MismatchDetected',
        data: {
          mismatchId: M,
          approvalId: 'A1',
          executionId: 'E1',
          kind: 'command_not_approved',
          approved: { instruction: 'list the running containers', commands: ['docker compose ps'] },
          executed: { command: 'docker compose down' },
          reconcilerVersion: V,
        },
      });
      expect(MismatchDetectedData.parse(event!.data)).toEqual(event!.data);
    });

    it('given a vague instruction only, when a command ran, then ReconciliationUnclear needing human review', () => {
      const events = given([grant({ instruction: 'tidy things up', approvedCommands: [] })])
        .whenReconciling(execution({ command: 'rm build.log' }))
        .events();
      expect(events).toEqual([
        {
          type: 'ReconciliationUnclear',
          data: expect.objectContaining({ executionId: 'E1', needsHumanReview: true, reconcilerVersion: V }),
        },
      ]);
    });

    it.each<[string, StreamEvent[], Partial<ExecutionLoggedData>, string]>([
      ['no grant in the stream', [], {}, 'no_approval'],
      ['a rejected approval', [rejected], {}, 'approval_rejected'],
      ['an approval revoked before the execution started', [grant(), revoked(t(3))], {}, 'approval_revoked'],
      ['an approval that expired before the execution started', [grant({ expiresAt: t(4) })], {}, 'approval_expired'],
      [
        'a single-use token already used by another execution',
        [grant(), logged(execution({ executionId: 'E0', tokenHash: 'a'.repeat(64) }))],
        { tokenHash: 'a'.repeat(64) },
        'token_replay',
      ],
      [
        'an approval for 2 executions that already has 2',
        [
          grant({ maxExecutions: 2 }),
          logged(execution({ executionId: 'E0' })),
          logged(execution({ executionId: 'E00' })),
        ],
        {},
        'max_executions_exceeded',
      ],
    ])('given %s, when a matching command ran, then the lifecycle kind wins', (_label, history, overrides, kind) => {
      given(history)
        .whenReconciling(execution(overrides))
        .thenEvents((events) => expect(kindOf(events)).toEqual([`MismatchDetected:${kind}`]));
    });

    it.each<[string, StreamEvent[], Partial<ExecutionLoggedData>]>([
      ['a revocation after the execution started', [grant(), revoked(t(9))], {}],
      ['an expiry after the execution started', [grant({ expiresAt: t(9) })], {}],
      [
        'a token reused within maxExecutions 3',
        [grant({ maxExecutions: 3 }), logged(execution({ executionId: 'E0', tokenHash: 'a'.repeat(64) }))],
        { tokenHash: 'a'.repeat(64) },
      ],
    ])('given %s, when a matching command ran, then it is a MATCH', (_label, history, overrides) => {
      given(history)
        .whenReconciling(execution(overrides))
        .thenEvents((events) => expect(kindOf(events)).toEqual(['ExecutionReconciled']));
    });

    it('given a revoked approval, when a different command ran, then approval_revoked names the command difference too and keeps the higher severity', () => {
      const [event] = given([grant(), revoked(t(3))])
        .whenReconciling(execution({ command: 'rm -rf /' }))
        .events();
      expect(event).toMatchObject({
        type: 'MismatchDetected',
        data: { kind: 'approval_revoked', severity: 'critical' },
      });
      expect(event!.type === 'MismatchDetected' && event!.data.explanation).toContain('moreover');
    });

    it('given a session stream, when a read-only command ran, then MATCH; when a destructive one ran, then policy_violation', () => {
      const session = { approvalId: undefined, sessionId: 'S1' };
      given([])
        .whenReconciling(execution({ ...session, command: 'ls -la' }))
        .thenEvents((events) => expect(kindOf(events)).toEqual(['ExecutionReconciled']));
      given([])
        .whenReconciling(execution({ ...session, command: 'rm -rf /var/lib/app' }))
        .thenEvents((events) => expect(kindOf(events)).toEqual(['MismatchDetected:policy_violation']));
    });

    it('given a 60 KiB command, then every verdict still fits its stored schema (explanations are clipped)', () => {
      const long = `docker compose down ${'x'.repeat(60_000)}`;
      for (const history of [[grant()], [], [grant(), revoked(t(3))]]) {
        for (const event of given(history)
          .whenReconciling(execution({ command: long }))
          .events()) {
          expect(RECONCILIATION_EVENT_SCHEMAS[event.type].safeParse(event.data).success).toBe(true);
        }
      }
    });

    it('given the execution was already reconciled by this version, then nothing is decided; by another version, then it is decided again', () => {
      const first = given([grant()])
        .whenReconciling(execution({ command: 'docker compose down' }))
        .events();
      const history = [grant(), logged(execution({ command: 'docker compose down' })), ...first];
      const again = (reconcilerVersion: string) =>
        spec.given(history).when({
          type: 'ReconcileExecution',
          execution: execution({ command: 'docker compose down' }),
          history: [grant()],
          reconcilerVersion,
          mismatchId: M,
        });
      again(V).thenNothing();
      again('reconciler/next').thenEvents((events) => expect(events).toHaveLength(1));
    });

    it('given an older version said MATCH, when a re-run only records changes, then a now-MISMATCH is recorded and a still-MATCH is not', () => {
      const run = (command: string) => {
        const data = execution({ command });
        const old: StreamEvent = {
          type: 'ExecutionReconciled',
          data: { executionId: 'E1', verdict: 'MATCH', explanation: 'old', reconcilerVersion: 'reconciler/0.9' },
        };
        return spec.given([grant(), logged(data), old]).when({
          type: 'ReconcileExecution',
          execution: data,
          history: [grant()],
          reconcilerVersion: V,
          mismatchId: M,
          onlyIfChanged: true,
        });
      };
      run('docker compose down').thenEvents((events) =>
        expect(kindOf(events)).toEqual(['MismatchDetected:command_not_approved']),
      );
      run('docker compose ps').thenNothing();
    });

    it('property: one verdict that fits its stored schema, and reconciling twice decides nothing the second time, whatever the stream and the command', () => {
      const commands = fc.constantFrom('docker compose ps', 'docker compose down', 'rm -rf /', 'ls', 'tidy up');
      const prefix = fc.array(
        fc.oneof(
          fc.constant(grant()),
          fc.constant(grant({ maxExecutions: 1, expiresAt: t(4) })),
          fc.constant(rejected),
          fc.constant(revoked(t(2))),
          fc
            .integer({ min: 0, max: 3 })
            .map((i) => logged(execution({ executionId: `X${i}`, tokenHash: 'b'.repeat(64) }))),
        ),
        { maxLength: 5 },
      );
      fc.assert(
        fc.property(prefix, commands, fc.boolean(), (history, command, session) => {
          const data = execution({
            command,
            tokenHash: 'b'.repeat(64),
            ...(session ? { approvalId: undefined, sessionId: 'S1' } : {}),
          });
          const cmd: ReconciliationCommand = {
            type: 'ReconcileExecution',
            execution: data,
            history,
            reconcilerVersion: V,
            mismatchId: M,
          };
          const streamSoFar = [...history, logged(data)];
          const first = spec.given(streamSoFar).when(cmd).events();
          expect(first).toHaveLength(1);
          expect(RECONCILIATION_EVENT_SCHEMAS[first[0]!.type].safeParse(first[0]!.data).success).toBe(true);
          spec
            .given([...streamSoFar, ...first])
            .when(cmd)
            .thenNothing();
        }),
      );
    });
  });

  describe('a revocation recorded after executions it covers (spooled during an outage, drained later)', () => {
    // E1 started at 10:05; the revocation happened at 10:04 and was recorded at 10:30, after E1 and its verdict.
    const lateRevocation: StreamEvent = {
      type: 'ApprovalRevoked',
      data: { approvalId: 'A1', by: 'bob', reason: 'incident', revokedAt: t(30), occurredAt: t(4) },
    };
    const matched: StreamEvent = {
      type: 'ExecutionReconciled',
      data: { executionId: 'E1', verdict: 'MATCH', explanation: 'approved verbatim', reconcilerVersion: V },
    };
    const revise = (history: StreamEvent[], data = execution()) =>
      spec
        .given(history)
        .when({ type: 'ReviseForLateRevocation', execution: data, reconcilerVersion: V, mismatchId: M });

    it('given an execution answered MATCH, when a revocation that happened before it started is recorded, then approval_revoked', () => {
      const events = revise([grant(), logged(execution()), matched, lateRevocation]).events();
      expect(kindOf(events)).toEqual(['MismatchDetected:approval_revoked']);
      expect(events[0]!.data).toMatchObject({ mismatchId: M, executionId: 'E1', severity: 'high' });
    });

    it('given the revision recorded, or a revocation that happened after the execution started, then nothing', () => {
      const [revised] = revise([grant(), logged(execution()), matched, lateRevocation]).events();
      revise([grant(), logged(execution()), matched, lateRevocation, revised!]).thenNothing();
      const afterStart = { ...lateRevocation, data: { ...lateRevocation.data, occurredAt: t(6) } } as StreamEvent;
      revise([grant(), logged(execution()), matched, afterStart]).thenNothing();
    });

    it('given a re-run of the stream as recorded now, then the execution stays approval_revoked (not MATCH)', () => {
      const history = [grant(), logged(execution()), matched, lateRevocation];
      spec
        .given(history)
        .when({
          type: 'ReconcileExecution',
          execution: execution(),
          history: [grant()],
          reconcilerVersion: 'reconciler/next',
          mismatchId: M,
          onlyIfChanged: true,
        })
        .thenEvents((rerun) => expect(kindOf(rerun)).toEqual(['MismatchDetected:approval_revoked']));
    });
  });

  describe('CheckApprovalUsage', () => {
    const check: ReconciliationCommand = {
      type: 'CheckApprovalUsage',
      approvalId: 'A1',
      now: t(30),
      reconcilerVersion: V,
      mismatchId: M,
    };

    it('given an approval that expired with no execution, then MismatchDetected approval_unused; once recorded, nothing more', () => {
      const history = [grant({ expiresAt: t(10) })];
      const events = spec.given(history).when(check).events();
      expect(kindOf(events)).toEqual(['MismatchDetected:approval_unused']);
      spec
        .given([...history, ...events])
        .when(check)
        .thenNothing();
    });

    it.each<[string, StreamEvent[]]>([
      ['not yet expired', [grant({ expiresAt: t(40) })]],
      ['without expiry', [grant()]],
      ['used before it expired', [grant({ expiresAt: t(10) }), logged(execution())]],
      ['revoked', [grant({ expiresAt: t(10) }), revoked(t(2))]],
    ])('given an approval %s, then nothing', (_label, history) => {
      spec.given(history).when(check).thenNothing();
    });
  });

  describe('ReviewMismatch', () => {
    const detected = given([grant()])
      .whenReconciling(execution({ command: 'docker compose down' }))
      .events();
    const review = (resolution: 'confirmed' | 'false_positive'): ReconciliationCommand => ({
      type: 'ReviewMismatch',
      data: { mismatchId: M, reviewer: 'sec@example.com', resolution, note: 'checked' },
      now: t(50),
    });

    it('given a detected mismatch, when it is reviewed, then MismatchReviewed stamped with the command time', () => {
      spec
        .given([grant(), ...detected])
        .when(review('confirmed'))
        .then([
          {
            type: 'MismatchReviewed',
            data: {
              mismatchId: M,
              reviewer: 'sec@example.com',
              resolution: 'confirmed',
              note: 'checked',
              reviewedAt: t(50),
            },
          },
        ]);
    });

    it('given a reviewed mismatch, when the same review is retried, then nothing; when a different one comes, then it is refused', () => {
      const reviewed = [
        grant(),
        ...detected,
        ...spec
          .given([grant(), ...detected])
          .when(review('confirmed'))
          .events(),
      ];
      spec.given(reviewed).when(review('confirmed')).thenNothing();
      spec.given(reviewed).when(review('false_positive')).thenThrows(MismatchAlreadyReviewedError);
    });

    it('given no such mismatch, then MISMATCH.NOT_FOUND', () => {
      spec.given([grant()]).when(review('confirmed')).thenThrows(MismatchNotFoundError);
    });
  });
});

describe('reconciliation decider: kinds and assessed risk on the verdict', () => {
  it('given a "safe" approval, when `docker compose down -v` ran, then the verdict carries the assessed risk critical and every kind', () => {
    const [event] = given([grant()])
      .whenReconciling(execution({ command: 'docker compose down -v' }))
      .events();
    expect(event).toMatchObject({ type: 'MismatchDetected', data: { assessedRisk: 'critical' } });
    const data = (event as { data: MismatchDetectedData }).data;
    expect(data.kinds?.[0]).toBe(data.kind);
    expect(data.kinds).toContain('read_only_violated');
    expect(MismatchDetectedData.parse(data)).toEqual(data);
  });

  it('given a replayed token that also ran an unapproved command, then the verdict is both kinds', () => {
    const [event] = given([grant(), logged(execution({ executionId: 'E0', tokenHash: 'a'.repeat(64) }))])
      .whenReconciling(execution({ tokenHash: 'a'.repeat(64), command: 'docker compose down' }))
      .events();
    const data = (event as { data: MismatchDetectedData }).data;
    expect(data.kind).toBe('token_replay');
    expect(data.kinds).toEqual(expect.arrayContaining(['token_replay', 'command_not_approved']));
  });

  it('given an older event without kinds, then it stays valid and its kinds read as [kind]', () => {
    const old = {
      type: 'MismatchDetected' as const,
      data: {
        mismatchId: '0f8e2a34-5b6c-8d7e-9f01-23456789abcf',
        kind: 'command_not_approved' as const,
        severity: 'medium' as const,
        explanation: 'x',
        approved: { commands: [] },
        reconcilerVersion: 'reconciler/1.0.0',
      },
    };
    expect(MismatchDetectedData.parse(old.data)).toEqual(old.data);
    expect(verdictKinds(old)).toEqual(['command_not_approved']);
  });
});
