import { PostgresEventStore, type RecordedEvent } from '@audit-ledger/event-store';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { countingStreamReads } from '../../../test/support/counting-stream-reads.js';
import { anExecutionLogged } from '../../../test/support/fixtures.js';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { quietProcessor } from './support/quiet-processor.js';

const VERDICTS = new Set(['ExecutionReconciled', 'ReconciliationUnclear', 'MismatchDetected']);

/** The processor against real PostgreSQL, the store wrapped to count the stream reads it makes. */
describe('the reconciliation processor following the log', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let pool: pg.Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.connect({ connectionString: db.url, poolSize: 4, pollIntervalMs: 100 });
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
  });
  afterAll(async () => {
    await pool.end();
    await store.close();
    await db.drop();
  });

  const execution = (approvalId: string, command: string) => ({
    eventId: randomUUID(),
    type: 'ExecutionLogged',
    data: { ...anExecutionLogged({ executionId: randomUUID(), approvalId, command }) },
    metadata: { actor: 'test' },
  });

  async function eventually<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  const verdictsIn = async (streamId: string): Promise<RecordedEvent[]> =>
    (await store.readStream(streamId)).filter((event) => VERDICTS.has(event.type));

  it('decides each execution of a stream it saw created without reading the stream, even after a review another writer appended between them', async () => {
    // given a processor following the log, on a store that counts stream reads
    const { store: counting, reads } = countingStreamReads(store);
    const processor = quietProcessor(counting, pool);
    await processor.start();
    try {
      // when an approval is granted and an execution of something else is logged (a mismatch)
      const approvalId = `A-${randomUUID()}`;
      const streamId = `approval-${approvalId}`;
      await store.appendToStream(streamId, [
        {
          eventId: randomUUID(),
          type: 'ApprovalGranted',
          data: {
            approvalId,
            instruction: 'restart the api',
            approvedCommands: ['docker compose restart api'],
            riskLevel: 'moderate',
            decision: 'approved',
            approvedBy: 'alice',
            requestedBy: { workerId: 'w1' },
            grantedAt: '2026-11-23T10:00:00.000Z',
          },
          metadata: { actor: 'test' },
        },
      ]);
      await store.appendToStream(streamId, [execution(approvalId, 'rm -rf /srv/api')]);
      const [mismatch] = await eventually('the first verdict', async () => {
        const verdicts = await verdictsIn(streamId);
        return verdicts.length === 1 ? verdicts : undefined;
      });
      // and a reviewer records a review of it (another writer), then the approved command runs
      await store.appendToStream(streamId, [
        {
          eventId: randomUUID(),
          type: 'MismatchReviewed',
          data: {
            mismatchId: String(mismatch!.data.mismatchId),
            reviewer: 'bob',
            resolution: 'confirmed',
            reviewedAt: '2026-11-23T10:10:00.000Z',
          },
          metadata: { actor: 'test' },
        },
        execution(approvalId, 'docker compose restart api'),
      ]);

      // then both executions are decided, and the processor never read the stream from the store
      const verdicts = await eventually('the second verdict', async () => {
        const recorded = await verdictsIn(streamId);
        return recorded.length === 2 ? recorded : undefined;
      });
      expect(verdicts.map((event) => event.type)).toEqual(['MismatchDetected', 'ExecutionReconciled']);
      expect(reads()).toBe(0);
    } finally {
      await processor.stop();
    }
  });
});
