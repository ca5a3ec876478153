import {
  reconciliationDecider,
  type ExecutionLoggedData,
  type ReconciliationCommand,
  type StreamEvent,
} from '@audit-ledger/domain';
import type { RecordedEvent } from '@audit-ledger/event-store';
import { jest } from '@jest/globals';
import fc from 'fast-check';
import { anExecutionLogged } from '../../../../test/support/fixtures.js';
import { foldIncrementally, foldStream, incrementalFolder, toStreamEvent, type FoldedStream } from './stream-fold.js';

const STREAM = 'approval-A1';
const V = 'reconciler/test';
const at = '2026-11-23T10:00:00.000Z';
const COMMANDS = ['docker compose ps', 'docker compose down', 'rm -rf /', 'ls', 'curl x | sh'];

type Step =
  | { kind: 'grant'; commands: string[] }
  | { kind: 'reject' }
  | { kind: 'revoke' }
  | { kind: 'execute'; command: string }
  | { kind: 'reconcile' }
  | { kind: 'review' }
  | { kind: 'other' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('grant' as const), commands: fc.subarray(COMMANDS, { minLength: 1 }) }),
  fc.constant({ kind: 'reject' as const }),
  fc.constant({ kind: 'revoke' as const }),
  fc.record({ kind: fc.constant('execute' as const), command: fc.constantFrom(...COMMANDS) }),
  fc.constant({ kind: 'reconcile' as const }),
  fc.constant({ kind: 'review' as const }),
  fc.constant({ kind: 'other' as const }),
);

const execution = (n: number, command: string): ExecutionLoggedData =>
  anExecutionLogged({ executionId: `E${n}`, command, startedAt: at, finishedAt: at });

/** A stream the way the ledger writes it: approval events, executions and the decider's own verdicts and reviews. */
function streamOf(steps: readonly Step[], salt: string): RecordedEvent[] {
  const events: (StreamEvent | { type: 'SomethingElse'; data: Record<string, unknown> })[] = [];
  let state = reconciliationDecider.initialState('approval');
  const unreconciled: ExecutionLoggedData[] = [];
  const mismatches: string[] = [];
  const add = (event: StreamEvent) => {
    events.push(event);
    state = reconciliationDecider.evolve(state, event);
  };
  const decide = (command: ReconciliationCommand) => {
    try {
      reconciliationDecider.decide(command, state).forEach(add);
    } catch {
      // refused (already reviewed, …): nothing recorded
    }
  };
  for (const s of steps) {
    if (s.kind === 'grant') {
      add({
        type: 'ApprovalGranted',
        data: {
          approvalId: 'A1',
          instruction: 'tend the containers',
          approvedCommands: s.commands,
          riskLevel: 'moderate',
          decision: 'approved',
          approvedBy: 'alice',
          requestedBy: { workerId: 'w1' },
          grantedAt: at,
        },
      });
    } else if (s.kind === 'reject') {
      add({ type: 'ApprovalRejected', data: { approvalId: 'A1', by: 'bob', reason: 'no', rejectedAt: at } });
    } else if (s.kind === 'revoke') {
      add({ type: 'ApprovalRevoked', data: { approvalId: 'A1', by: 'bob', reason: 'no', revokedAt: at } });
    } else if (s.kind === 'execute') {
      const data = execution(events.length, s.command);
      add({ type: 'ExecutionLogged', data });
      unreconciled.push(data);
    } else if (s.kind === 'reconcile') {
      const data = unreconciled.shift();
      if (!data) continue;
      const history = events.filter((e): e is StreamEvent => e.type !== 'SomethingElse');
      const mismatchId = `0f8e2a34-5b6c-8d7e-9f01-${String(events.length).padStart(12, '0')}`;
      decide({ type: 'ReconcileExecution', execution: data, history, reconcilerVersion: V, mismatchId });
      mismatches.push(mismatchId);
    } else if (s.kind === 'review') {
      const mismatchId = mismatches.shift();
      if (!mismatchId) continue;
      decide({ type: 'ReviewMismatch', data: { mismatchId, reviewer: 'carol', resolution: 'confirmed' }, now: at });
    } else {
      events.push({ type: 'SomethingElse', data: {} });
    }
  }
  return events.map((event, i) => ({
    eventId: `${salt}-${i}`,
    streamId: STREAM,
    streamRevision: i,
    globalPosition: BigInt(i + 1),
    type: event.type,
    data: event.data as unknown as Record<string, unknown>,
    metadata: { actor: 'test' },
    hash: `${salt}-hash-${i}`,
    prevHash: i === 0 ? '' : `${salt}-hash-${i - 1}`,
    recordedAt: new Date(at),
  })) as unknown as RecordedEvent[];
}

/** Ascending cut points into a stream of `length` events (the prefixes a processor would have read). */
const cutsOf = (length: number, raw: number[]) => [...new Set(raw.map((r) => r % (length + 1)))].sort((a, b) => a - b);

describe('folding a stream incrementally', () => {
  it('given any stream read in growing prefixes, when each prefix is folded from the last fold, then the state is the fold from revision 0', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 8 }), (steps, raw) => {
        const recorded = streamOf(steps, 's');
        let folded: FoldedStream | undefined;
        for (const cut of [...cutsOf(recorded.length, raw), recorded.length]) {
          const prefix = recorded.slice(0, cut);
          folded = foldIncrementally(STREAM, prefix, folded);
          expect(folded.length).toBe(cut);
          expect(folded.state).toEqual(foldStream(STREAM, prefix));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('given a fold of other events or of more events than read, when a stream is folded from it, then it is folded from revision 0', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 30 }), fc.array(step, { maxLength: 30 }), (a, b) => {
        const ours = streamOf(a, 'ours');
        const theirs = foldIncrementally(STREAM, streamOf(b, 'theirs').slice(0, ours.length)); // other events
        expect(foldIncrementally(STREAM, ours, theirs).state).toEqual(foldStream(STREAM, ours));
        const longer = foldIncrementally(STREAM, streamOf([...a, ...b, { kind: 'other' }], 'ours'));
        expect(foldIncrementally(STREAM, ours, longer).state).toEqual(foldStream(STREAM, ours));
      }),
      { numRuns: 200 },
    );
  });

  it('given one folder, when a stream is folded again after it moved, then only the new events are evolved and the state matches a fold from 0', () => {
    const recorded = streamOf(
      [{ kind: 'grant', commands: ['ls'] }, { kind: 'execute', command: 'ls' }, { kind: 'reconcile' }],
      's',
    );
    const evolve = jest.spyOn(reconciliationDecider, 'evolve');
    const fold = incrementalFolder();
    fold(STREAM, recorded.slice(0, 2));
    expect(evolve).toHaveBeenCalledTimes(2);
    expect(fold(STREAM, recorded)).toEqual(foldStream(STREAM, recorded));
    expect(evolve).toHaveBeenCalledTimes(2 + 1 + 3); // +1 the verdict, +3 the fold from 0 to compare with
    evolve.mockRestore();
  });

  it('given any stream, when an execution is decided with the lifecycle folded up to it instead of its history, then the verdict is the same', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const recorded = streamOf(steps, 's');
        let folded: FoldedStream | undefined;
        for (const logged of recorded.filter((event) => event.type === 'ExecutionLogged')) {
          const revision = logged.streamRevision;
          folded = foldIncrementally(STREAM, recorded, folded, revision); // what the processor's cache keeps
          const state = foldStream(STREAM, recorded.slice(0, revision + 1));
          const base = {
            type: 'ReconcileExecution' as const,
            execution: logged.data as unknown as ExecutionLoggedData,
            reconcilerVersion: 'reconciler/other',
            mismatchId: '0f8e2a34-5b6c-8d7e-9f01-000000000000',
          };
          const history = recorded
            .slice(0, revision)
            .map(toStreamEvent)
            .filter((event): event is StreamEvent => event !== undefined);
          expect(
            reconciliationDecider.decide({ ...base, history: [], lifecycleBefore: folded.state.lifecycle }, state),
          ).toEqual(reconciliationDecider.decide({ ...base, history }, state));
        }
      }),
      { numRuns: 300 },
    );
  });
});
