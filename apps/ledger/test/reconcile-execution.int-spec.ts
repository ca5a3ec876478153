import { PostgresEventStore, type RecordedEvent } from '@audit-ledger/event-store';
import type { JudgeOutcome } from '@audit-ledger/domain';
import { randomUUID } from 'node:crypto';
import { countingStreamReads } from '../../../test/support/counting-stream-reads.js';
import { anExecutionLogged } from '../../../test/support/fixtures.js';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import {
  foldStream,
  reconcileLoggedExecution,
  reconcileLoggedExecutions,
  type ReconcileExecutionOptions,
} from '../src/reconciliation/reconcile-execution.js';
import { StreamReadCache } from '../src/reconciliation/stream-read-cache.js';

const VERSION = 'reconciler/int-test';
const VERDICTS = new Set(['ExecutionReconciled', 'ReconciliationUnclear', 'MismatchDetected']);
const MATCH: JudgeOutcome = {
  verdict: 'MATCH',
  rationale: 'it restarts the api',
  model: 'fake',
  promptVersion: 'judge-v1',
  latencyMs: 1,
};

/** The store against real PostgreSQL, with another writer racing the reconciliation (another processor, a re-run). */
describe('reconciling recorded executions against the PostgreSQL store', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.connect({ connectionString: db.url, poolSize: 4 });
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  const grant = (approvalId: string, approvedCommands: string[]) => ({
    eventId: randomUUID(),
    type: 'ApprovalGranted',
    data: {
      approvalId,
      instruction: 'restart the api',
      approvedCommands,
      riskLevel: 'moderate',
      decision: 'approved',
      approvedBy: 'alice',
      requestedBy: { workerId: 'w1' },
      grantedAt: '2026-11-23T10:00:00.000Z',
    },
    metadata: { actor: 'test' },
  });
  const execution = (approvalId: string, command: string) => ({
    eventId: randomUUID(),
    type: 'ExecutionLogged',
    data: { ...anExecutionLogged({ executionId: randomUUID(), approvalId, command }) },
    metadata: { actor: 'test' },
  });
  /** A stream with a grant and these executions; answers the recorded executions. */
  const given = async (approvedCommands: string[], commands: string[]) => {
    const approvalId = `A-${randomUUID()}`;
    const streamId = `approval-${approvalId}`;
    await store.appendToStream(streamId, [
      grant(approvalId, approvedCommands),
      ...commands.map((c) => execution(approvalId, c)),
    ]);
    const logged = (await store.readStream(streamId)).filter((e) => e.type === 'ExecutionLogged');
    return { approvalId, streamId, logged };
  };
  const verdictsIn = async (streamId: string) => (await store.readStream(streamId)).filter((e) => VERDICTS.has(e.type));
  const options = (extra: Partial<ReconcileExecutionOptions> = {}): ReconcileExecutionOptions => ({
    reconcilerVersion: VERSION,
    now: new Date().toISOString(),
    ...extra,
  });

  it('given another writer records a verdict while the judge is asked, when the judged verdict is appended, then the recorded one wins and nothing is appended', async () => {
    const { streamId, logged } = await given([], ['./deploy/restart.sh api']);
    let asked = 0;
    const written = await reconcileLoggedExecution(
      store,
      logged[0]!,
      options({
        judge: async () => {
          asked++;
          // Another processor (without a judge) decided the same execution meanwhile.
          await reconcileLoggedExecution(store, logged[0]!, options());
          return MATCH;
        },
      }),
    );
    expect(asked).toBe(1);
    expect(written).toEqual([]);
    const verdicts = await verdictsIn(streamId);
    expect(verdicts.map((v) => v.type)).toEqual(['ReconciliationUnclear']);
    expect(verdicts[0]!.data).not.toHaveProperty('judge');
  });

  it('given another writer appends something else while the judge is asked, then the stream is read again and the judged verdict appended once', async () => {
    const { approvalId, streamId, logged } = await given([], ['./deploy/restart.sh api']);
    let asked = 0;
    const written = await reconcileLoggedExecution(
      store,
      logged[0]!,
      options({
        judge: async () => {
          asked++;
          await store.appendToStream(streamId, [execution(approvalId, 'docker compose ps')]);
          return MATCH;
        },
      }),
    );
    expect(asked).toBe(1);
    expect(written.map((w) => w.event.type)).toEqual(['ExecutionReconciled']);
    const verdicts = await verdictsIn(streamId);
    expect(verdicts).toHaveLength(1);
    expect(verdicts[0]!.data).toMatchObject({ judge: { verdict: 'MATCH', applied: true } });
  });

  it('given a stale view in which another processor already recorded one of a batch, when the batch is appended, then only the missing verdicts are written, in order', async () => {
    const { streamId, logged } = await given(['docker compose ps'], ['docker compose ps', 'docker compose down', 'ls']);
    await reconcileLoggedExecution(store, logged[1]!, options()); // the other processor
    const stale: RecordedEvent[] = (await store.readStream(streamId)).filter((e) => !VERDICTS.has(e.type));

    const written = await reconcileLoggedExecutions(store, logged, options({ read: async () => stale }));
    expect(written.map((w) => (w.event.data as { executionId: string }).executionId)).toEqual([
      logged[0]!.data.executionId,
      logged[2]!.data.executionId,
    ]);
    const verdicts = await verdictsIn(streamId);
    expect(verdicts.map((v) => v.data.executionId)).toEqual([
      logged[1]!.data.executionId,
      logged[0]!.data.executionId,
      logged[2]!.data.executionId,
    ]);
    expect(await reconcileLoggedExecutions(store, logged, options())).toEqual([]);
    expect(await verdictsIn(streamId)).toHaveLength(3);
  });

  it("given the processor's cache holds the stream's fold and another writer records the verdict while the judge is asked, then the fold is extended by it and nothing is appended", async () => {
    const { streamId, logged } = await given([], ['ls', './deploy/restart.sh api']);
    const cache = new StreamReadCache(store);
    const cached = (): Partial<ReconcileExecutionOptions> => ({
      read: (id, through) => cache.read(id, through),
      fold: (id, recorded) => cache.fold(id, recorded),
      onAppended: (id, events) => cache.appended(id, events, new Date()),
    });
    await reconcileLoggedExecution(store, logged[0]!, options(cached())); // the cache now holds a fold
    let asked = 0;
    const written = await reconcileLoggedExecution(
      store,
      logged[1]!,
      options({
        ...cached(),
        judge: async () => {
          asked++;
          await reconcileLoggedExecution(store, logged[1]!, options()); // another processor, without the cache
          return MATCH;
        },
      }),
    );
    expect(asked).toBe(1);
    expect(written).toEqual([]);
    expect((await verdictsIn(streamId)).map((v) => v.data.executionId)).toEqual([
      logged[0]!.data.executionId,
      logged[1]!.data.executionId,
    ]);
    const recorded = await cache.read(streamId);
    expect(recorded).toHaveLength(5); // grant, two executions, two verdicts;
    expect(cache.fold(streamId, recorded)).toEqual(foldStream(streamId, await store.readStream(streamId)));
  });

  it('decides the executions of a stream it saw created without reading the stream', async () => {
    // given a stream written by the gateway after the processor started: its grant, then two executions
    const approvalId = `seen-${randomUUID()}`;
    const streamId = `approval-${approvalId}`;
    await store.appendToStream(streamId, [grant(approvalId, ['docker compose restart api'])]);
    await store.appendToStream(streamId, [execution(approvalId, 'docker compose restart api')]);
    await store.appendToStream(streamId, [execution(approvalId, 'rm -rf /srv/api')]);
    const delivered = await store.readStream(streamId);
    const { store: counting, reads } = countingStreamReads(store);
    const cache = new StreamReadCache(counting);
    const options: ReconcileExecutionOptions = {
      reconcilerVersion: VERSION,
      now: '2026-11-23T10:05:00.000Z',
      read: (id, through) => cache.read(id, through),
      fold: (id, recorded) => cache.fold(id, recorded),
      onAppended: (id, events) => cache.appended(id, events, new Date()),
    };

    // when the processor's subscription delivers the stream's events in order, each execution reconciled in its turn
    const written = [];
    for (const event of delivered) {
      cache.seen(event);
      if (event.type === 'ExecutionLogged') written.push(...(await reconcileLoggedExecution(counting, event, options)));
    }

    // then both verdicts were written, and the stream was never read from the store
    expect(written.map((verdict) => verdict.event.type)).toEqual(['ExecutionReconciled', 'MismatchDetected']);
    expect(reads()).toBe(0);
    expect(cache.fold(streamId, await cache.read(streamId, 4))).toEqual(
      foldStream(streamId, await store.readStream(streamId)),
    );
  });
});
