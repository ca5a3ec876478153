import type pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { type RecordedEvent } from '../src/event-store.port.js';
import { PostgresEventStore } from '../src/postgres/postgres-event-store.js';
import { newEvent, nextWithin, rawClient, waitFor } from './postgres-test-support.js';

describe('PostgreSQL subscriptions', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let superuser: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.connect({ connectionString: db.url, pollIntervalMs: 200 });
    superuser = await rawClient(db.url);
  });

  afterAll(async () => {
    await superuser?.end();
    await store?.close();
    await db?.drop();
  });

  async function terminate(applicationName: string): Promise<number> {
    const { rows } = await superuser.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = $1`,
      [applicationName],
    );
    return rows.length;
  }

  async function listenerConnected(): Promise<void> {
    await waitFor('the LISTEN connection', async () => {
      const { rows } = await superuser.query(
        `SELECT 1 FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'audit-ledger-listener' AND query ILIKE 'LISTEN%'`,
      );
      return rows.length === 1;
    });
  }

  it('keeps delivering after its LISTEN and read connections are killed', async () => {
    // given a live subscription
    const start = (await store.appendToStream('reconnect-0', [newEvent()])).lastPosition;
    const subscription = store.subscribeToAll({ fromPosition: start });
    const iterator = subscription[Symbol.asyncIterator]();
    const pending: { next?: Promise<IteratorResult<RecordedEvent>> } = {};
    try {
      await store.appendToStream('reconnect-1', [newEvent()]);
      expect((await nextWithin(iterator, pending, 3000))?.streamId).toBe('reconnect-1');
      await listenerConnected();
      // when the server drops every connection of the store
      expect(await terminate('audit-ledger-listener')).toBe(1);
      await terminate('audit-ledger');
      // then appends and live delivery resume
      await store.appendToStream('reconnect-2', [newEvent()]);
      expect((await nextWithin(iterator, pending, 5000))?.streamId).toBe('reconnect-2');
      await listenerConnected();
      await store.appendToStream('reconnect-3', [newEvent()]);
      expect((await nextWithin(iterator, pending, 3000))?.streamId).toBe('reconnect-3');
    } finally {
      await subscription.close();
    }
  });

  it('finds matching events behind long runs of events its filter rejects', async () => {
    // given 1200 events of another category, then one of ours
    const start = (await store.appendToStream('noise-0', [newEvent()])).lastPosition;
    for (let i = 0; i < 3; i++) {
      await store.appendToStream(
        `noise-${i + 1}`,
        Array.from({ length: 400 }, () => newEvent('Noise')),
      );
    }
    const ours = await store.appendToStream('wanted-1', [newEvent('Wanted')]);
    const filter = { streamPrefixes: ['wanted-'] };
    // when read through a filter, then it is found
    expect((await store.readAll({ fromPosition: start, filter })).map((e) => e.globalPosition)).toEqual([
      ours.lastPosition,
    ]);
    const subscription = store.subscribeToAll({ fromPosition: start, filter });
    try {
      const delivered = await nextWithin(subscription[Symbol.asyncIterator](), {}, 3000);
      expect(delivered?.globalPosition).toBe(ours.lastPosition);
      expect(subscription.position).toBe(ours.lastPosition);
    } finally {
      await subscription.close();
    }
  });

  it('ends the subscriptions of a store that closes', async () => {
    const other = await PostgresEventStore.connect({ connectionString: db.url, migrate: false });
    const subscription = other.subscribeToAll();
    const iterator = subscription[Symbol.asyncIterator]();
    await iterator.next(); // the store holds events already: the first one arrives
    const pending = iterator.next();
    await other.close();
    expect(subscription.isAlive).toBe(false);
    await expect(pending).resolves.toMatchObject({ done: true });
    expect((await other.health()).subscriptionsAlive).toBe(0);
  });

  it('gathers commits that follow a caught-up read into one later read, and still closes at once', async () => {
    // given a live subscription that reads at most once per 1.5 s, caught up
    const spaced = await PostgresEventStore.connect({ connectionString: db.url, minReadIntervalMs: 1500 });
    const start = (await spaced.appendToStream('gather-0', [newEvent()])).lastPosition;
    const subscription = spaced.subscribeToAll({ fromPosition: start - 1n });
    const iterator = subscription[Symbol.asyncIterator]();
    const pending: { next?: Promise<IteratorResult<RecordedEvent>> } = {};
    try {
      expect((await nextWithin(iterator, pending, 3000))?.streamId).toBe('gather-0');
      // when three appends commit right after that read
      for (const n of [1, 2, 3]) await spaced.appendToStream(`gather-${n}`, [newEvent()]);
      // then none is delivered before the interval is over, and all three arrive together after it
      expect(await nextWithin(iterator, pending, 300)).toBeUndefined();
      const delivered = [await nextWithin(iterator, pending, 5000)];
      for (let i = 0; i < 2; i++) delivered.push(await nextWithin(iterator, pending, 50));
      expect(delivered.map((event) => event?.streamId)).toEqual(['gather-1', 'gather-2', 'gather-3']);
      // and a subscription waiting out its interval closes without waiting for it
      await spaced.appendToStream('gather-4', [newEvent()]);
      const next = iterator.next();
      await subscription.close();
      await expect(next).resolves.toMatchObject({ done: true });
    } finally {
      await subscription.close();
      await spaced.close();
    }
  });
});
