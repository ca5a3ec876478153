import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { GENESIS_HASH, verifyChain } from '@audit-ledger/integrity';
import { IdempotencyConflictError, WrongExpectedVersionError } from '../errors.js';
import { type ExpectedRevision } from '../event-store.port.js';
import { planBatch, toAppendResult, type PlannedOutcome, type StoredEvent, type StreamHead } from './append-plan.js';
import { type ValidAppend } from './append-validation.js';

const event = (type = 'Happened', data: Record<string, unknown> = {}) => ({
  eventId: randomUUID(),
  type,
  data,
  metadata: {},
});

const append = (streamId: string, count: number, expectedRevision: ExpectedRevision = 'any'): ValidAppend => ({
  streamId,
  events: Array.from({ length: count }, (_, i) => event('Happened', { i })),
  expectedRevision,
});

const noHeads = new Map<string, StreamHead>();
const noneStored = new Map<string, StoredEvent>();

function errorOf(outcome: PlannedOutcome | undefined): Error | undefined {
  return outcome?.kind === 'rejected' ? outcome.error : undefined;
}

/** Commits a plan the way the database would: positions in row order from `firstPosition`. */
function commit(plan: ReturnType<typeof planBatch>, firstPosition = 1n) {
  const positions = plan.rows.map((_, i) => firstPosition + BigInt(i));
  const results = plan.outcomes.map((outcome) =>
    outcome.kind === 'written' ? toAppendResult(outcome, plan.rows, positions) : outcome.error,
  );
  const stored = new Map<string, StoredEvent>(
    plan.rows.map((row, i) => [row.eventId, { ...row, globalPosition: positions[i]! }]),
  );
  return { results, stored };
}

describe('append plan', () => {
  it('starts a new stream at revision 0 with hashes chained from the genesis hash', () => {
    // given no stream, when three events are appended, then revisions are 0..2 and the chain verifies
    const plan = planBatch([append('s-1', 3, 'no_stream')], noHeads, noneStored);
    expect(plan.rows.map((row) => row.streamRevision)).toEqual([0, 1, 2]);
    expect(plan.rows[0]?.prevHash).toBe(GENESIS_HASH);
    expect(verifyChain(plan.rows)).toBeNull();
  });

  it('lets a later request of the batch see the head left by an earlier one', () => {
    // given two appends to one stream in one batch, when the second expects revision 1, then it continues the chain
    const plan = planBatch([append('s-1', 2, 'no_stream'), append('s-1', 1, 1)], noHeads, noneStored);
    expect(plan.outcomes.map((outcome) => outcome.kind)).toEqual(['written', 'written']);
    expect(verifyChain(plan.rows)).toBeNull();
  });

  it.each<[ExpectedRevision, StreamHead | undefined, string | number, number | 'no_stream']>([
    ['no_stream', { revision: 4, hash: 'h' }, 'no_stream', 4],
    ['stream_exists', undefined, 'stream_exists', 'no_stream'],
    [3, { revision: 4, hash: 'h' }, 3, 4],
    [0, undefined, 0, 'no_stream'],
  ])('rejects expected revision %p against head %p, naming both', (expected, head, named, actual) => {
    const heads = new Map(head ? [['s-1', head]] : []);
    const [outcome] = planBatch([append('s-1', 1, expected)], heads, noneStored).outcomes;
    const error = errorOf(outcome);
    expect(error).toBeInstanceOf(WrongExpectedVersionError);
    expect(error).toMatchObject({ streamId: 's-1', expected: named, actual });
  });

  it('rejects one request alone and writes the others', () => {
    const plan = planBatch([append('a', 1), append('b', 1, 'stream_exists'), append('c', 1)], noHeads, noneStored);
    expect(plan.outcomes.map((outcome) => outcome.kind)).toEqual(['written', 'rejected', 'written']);
    expect(plan.rows.map((row) => row.streamId)).toEqual(['a', 'c']);
  });

  it('answers a retry of a stored append with the original result and writes nothing', () => {
    // given an append committed earlier, when the same events are appended again with a stale expectation,
    // then the original revisions, positions and hashes come back as a replay
    const request = append('s-1', 2, 'no_stream');
    const first = commit(planBatch([request], noHeads, noneStored), 7n);
    const heads = new Map([['s-1', { revision: 1, hash: 'h' }]]);
    const retry = planBatch([request], heads, first.stored);
    expect(retry.rows).toEqual([]);
    const [result] = commit(retry).results;
    expect(result).toEqual({ ...(first.results[0] as object), idempotentReplay: true });
  });

  it('treats a repeated event id later in the same batch as a replay of the first', () => {
    const request = append('s-1', 1);
    const plan = planBatch([request, request], noHeads, noneStored);
    expect(plan.rows).toHaveLength(1);
    const [original, replay] = commit(plan).results;
    expect(replay).toEqual({ ...(original as object), idempotentReplay: true });
  });

  it('refuses a stored event id with other data, naming its position and the differing fields; derived paths count by presence', () => {
    const request = append('s-1', 1);
    const { stored } = commit(planBatch([request], noHeads, noneStored), 9n);
    const [original] = request.events;
    const changed = { ...request, events: [{ ...original!, data: { i: 1 }, metadata: { other: true } }] };
    const [outcome] = planBatch([changed], noHeads, stored).outcomes;
    expect(errorOf(outcome)).toMatchObject({
      code: 'EVENT_STORE.IDEMPOTENCY_CONFLICT',
      details: { eventId: original!.eventId, stored: { globalPosition: '9', streamRevision: 0 }, differences: ['i'] },
    });
    const derived = { ...changed, derivedPaths: ['i'] };
    expect(planBatch([derived], noHeads, stored).outcomes[0]).toMatchObject({ kind: 'written', replay: true });
  });

  it('refuses a repeated event id later in the same batch with other data', () => {
    const request = append('s-1', 1);
    const other = { ...request, events: [{ ...request.events[0]!, type: 'Other' }] };
    const plan = planBatch([request, other], noHeads, noneStored);
    expect(plan.outcomes.map((outcome) => outcome.kind)).toEqual(['written', 'rejected']);
    expect(errorOf(plan.outcomes[1])).toMatchObject({
      details: { stored: { globalPosition: 'pending' }, differences: ['type'] },
    });
  });

  it('refuses a retry of which only part is stored', () => {
    const request = append('s-1', 2);
    const { stored } = commit(planBatch([{ ...request, events: request.events.slice(0, 1) }], noHeads, noneStored));
    const [outcome] = planBatch([request], noHeads, stored).outcomes;
    expect(errorOf(outcome)).toBeInstanceOf(IdempotencyConflictError);
  });

  it('refuses an event id that is stored in another stream', () => {
    const request = append('s-1', 1);
    const { stored } = commit(planBatch([request], noHeads, noneStored));
    const [outcome] = planBatch([{ ...request, streamId: 's-2' }], noHeads, stored).outcomes;
    expect(errorOf(outcome)).toMatchObject({
      code: 'EVENT_STORE.IDEMPOTENCY_CONFLICT',
      streamId: 's-2',
      eventIds: [request.events[0]!.eventId],
    });
  });

  it('decides nothing new when any committed batch is replayed (property)', () => {
    const requests = fc.array(
      fc.record({ stream: fc.constantFrom('a', 'b', 'c'), count: fc.integer({ min: 1, max: 3 }) }),
      { minLength: 1, maxLength: 8 },
    );
    fc.assert(
      fc.property(requests, (specs) => {
        const batch = specs.map((spec) => append(spec.stream, spec.count));
        const first = commit(planBatch(batch, noHeads, noneStored));
        const again = planBatch(batch, noHeads, first.stored);
        expect(again.rows).toEqual([]);
        const replayed = commit(again).results;
        replayed.forEach((result, i) => {
          expect(result).toEqual({ ...(first.results[i] as object), idempotentReplay: true });
        });
      }),
    );
  });
});
