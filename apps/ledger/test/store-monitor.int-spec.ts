import { PostgresEventStore, type RecordedEvent, type SubscribeToAllOptions } from '@audit-ledger/event-store';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { StoreMonitor } from '../src/health/store-monitor.service.js';

const verdict = (executionId: string) => ({
  eventId: randomUUID(),
  type: 'ExecutionReconciled',
  data: { executionId, verdict: 'MATCH', explanation: 'same', reconcilerVersion: 'reconciler/1.1.0' },
  metadata: { actor: 'test' },
});

/** The store monitor follows what is recorded from its start: it does not read the history to skip it (issue 14). */
describe('the store monitor', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.connect({ connectionString: db.url, pollIntervalMs: 100 });
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  it('given a history, when it starts, then it subscribes from the head and sees only what comes next', async () => {
    for (let i = 0; i < 20; i++) await store.appendToStream(`approval-old-${i}`, [verdict(`old-${i}`)]);
    const head = await store.headPosition();
    expect(head).toBeGreaterThan(0n);
    const subscribed: SubscribeToAllOptions[] = [];
    const watched = new Proxy(store, {
      get(target, property, receiver) {
        if (property === 'subscribeToAll') {
          return (options: SubscribeToAllOptions) => {
            subscribed.push(options);
            return target.subscribeToAll(options);
          };
        }
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
    const seen: RecordedEvent[] = [];
    const monitor = new StoreMonitor(watched, pino({ level: 'silent' }), (event) => seen.push(event));
    await monitor.start();
    try {
      expect(subscribed[0]?.fromPosition).toBe(head);
      expect(monitor.status().position).toBe(head.toString());
      await store.appendToStream('approval-new', [verdict('new')]);
      const deadline = Date.now() + 10_000;
      while (seen.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(seen.map((event) => event.data.executionId)).toEqual(['new']);
    } finally {
      await monitor.stop();
    }
  });
});
