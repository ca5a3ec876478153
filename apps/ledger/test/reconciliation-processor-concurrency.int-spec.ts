import { PostgresEventStore, type EventStore } from '@audit-ledger/event-store';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { anExecutionLogged } from '../../../test/support/fixtures.js';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { quietProcessor } from './support/quiet-processor.js';

/**
 * How many verdict appends the processor keeps waiting at once: with a slot per append, its throughput is the slots
 * over the append's latency, so 64 slots behind a group commit taking 100 ms under load made at most 640 verdicts a
 * second, below the rate the command path acknowledged (issue 14: first alerts seconds late on a busy machine).
 */
describe('the reconciliation processor under slow appends', () => {
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

  /** `store` whose appends wait until `release()`; `waiting()` is how many wait now. */
  function gatedAppends(inner: EventStore): { store: EventStore; waiting: () => number; release: () => void } {
    let waiting = 0;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const gated = new Proxy(inner, {
      get(target, property, receiver) {
        if (property === 'appendToStream') {
          return async (...args: Parameters<EventStore['appendToStream']>) => {
            waiting++;
            await gate;
            waiting--;
            return target.appendToStream(...args);
          };
        }
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
    return { store: gated, waiting: () => waiting, release: open };
  }

  it('given 200 executions of 200 streams and appends that do not return, then it waits on all 200 verdicts at once', async () => {
    const executions = 200;
    for (let i = 0; i < executions; i++) {
      const approvalId = `C-${randomUUID()}`;
      await store.appendToStream(`approval-${approvalId}`, [
        {
          eventId: randomUUID(),
          type: 'ExecutionLogged',
          data: { ...anExecutionLogged({ executionId: randomUUID(), approvalId, command: 'uptime' }) },
          metadata: { actor: 'test' },
        },
      ]);
    }
    const { store: gated, waiting, release } = gatedAppends(store);
    const processor = quietProcessor(gated, pool);
    await processor.start();
    try {
      const deadline = Date.now() + 10_000;
      while (waiting() < executions && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(waiting()).toBe(executions);
      release();
      // then every execution gets its verdict (the verdicts it then reads back count as handled too)
      while (processor.status().appended < executions && Date.now() < deadline + 10_000) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(processor.status().appended).toBe(executions);
      expect(processor.status().handled).toBeGreaterThanOrEqual(executions);
    } finally {
      release();
      await processor.stop();
    }
  });
});
