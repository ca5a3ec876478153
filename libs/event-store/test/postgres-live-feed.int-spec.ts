import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { type ReadAllFilter, type RecordedEvent, type Subscription } from '../src/event-store.port.js';
import { PostgresEventStore } from '../src/postgres/postgres-event-store.js';
import { newEvent } from './postgres-test-support.js';

/** Takes `count` events from a subscription, failing after `timeoutMs`. */
async function take(subscription: Subscription, count: number, timeoutMs: number): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  const timer = setTimeout(() => void subscription.close(), timeoutMs);
  try {
    for await (const event of subscription) {
      events.push(event);
      if (events.length === count) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return events;
}

const ids = (events: readonly RecordedEvent[]): string[] => events.map((e) => e.eventId);

describe('PostgreSQL subscriptions sharing one live reader', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.connect({ connectionString: db.url, pollIntervalMs: 200 });
  });

  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it('gives each subscription, whatever its filter and start, exactly what readAll gives, while writers append', async () => {
    // given a history, and subscriptions with different filters: two at the head, one from the start, one halfway
    for (let n = 0; n < 300; n++) {
      await store.appendToStream(n % 2 ? `odd-${n % 7}` : `even-${n % 5}`, [newEvent(n % 3 ? 'Kept' : 'Other')]);
    }
    const head = (await store.readAll()).at(-1)!.globalPosition;
    const writers = 6;
    const appendsPerWriter = 120;
    const filters: { from: bigint; filter?: ReadAllFilter }[] = [
      { from: head },
      { from: head, filter: { streamPrefixes: ['odd-'] } },
      { from: 0n, filter: { eventTypes: ['Kept'] } },
      { from: head - 150n, filter: { eventTypes: ['Kept'], streamPrefixes: ['even-'] } },
    ];
    const expectedCount = async (from: bigint, filter?: ReadAllFilter): Promise<number> =>
      (await store.readAll({ fromPosition: from, filter })).length;
    const before = await Promise.all(filters.map((f) => expectedCount(f.from, f.filter)));
    const subscriptions = filters.map((f) => store.subscribeToAll({ fromPosition: f.from, filter: f.filter }));

    // when concurrent writers append to odd and even streams, alone and in pairs
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let n = 0; n < appendsPerWriter; n++) {
          const events = n % 4 === 0 ? [newEvent('Kept'), newEvent('Other')] : [newEvent(n % 3 ? 'Kept' : 'Other')];
          await store.appendToStream(`${w % 2 ? 'odd' : 'even'}-w${w}`, events);
        }
      }),
    );
    const expected = await Promise.all(filters.map((f) => store.readAll({ fromPosition: f.from, filter: f.filter })));
    expect(expected.map((e, i) => e.length > before[i]!)).toEqual([true, true, true, true]);
    const received = await Promise.all(subscriptions.map((s, i) => take(s, expected[i]!.length, 30_000)));

    // then each subscription saw exactly its events: none skipped, none twice, in global order
    for (const [i, events] of received.entries()) expect(ids(events)).toEqual(ids(expected[i]!));
    // and the two that followed the head were handed the very same event objects: read and parsed once
    const shared = received[1]!.filter((event) => received[0]!.includes(event));
    expect(shared.length).toBe(received[1]!.length);
    await Promise.all(subscriptions.map((s) => s.close()));
  });

  it('delivers the same as subscriptions that each read for themselves', async () => {
    // given a store whose subscriptions do not share a reader, and one whose do
    const alone = await PostgresEventStore.connect({ connectionString: db.url, sharedLiveReads: false });
    try {
      const from = (await store.readAll()).at(-1)!.globalPosition;
      const filter = { streamPrefixes: ['cmp-a'] };
      const own = alone.subscribeToAll({ fromPosition: from, filter });
      const shared = [
        store.subscribeToAll({ fromPosition: from, filter }),
        store.subscribeToAll({ fromPosition: from }),
      ];
      // when events are appended
      for (let n = 0; n < 40; n++) await store.appendToStream(n % 2 ? 'cmp-a' : 'cmp-b', [newEvent()]);
      // then both deliver the same events
      const [mine, theirs, everything] = await Promise.all([
        take(own, 20, 10_000),
        take(shared[0]!, 20, 10_000),
        take(shared[1]!, 40, 10_000),
      ]);
      expect(ids(theirs)).toEqual(ids(mine));
      expect(everything).toHaveLength(40);
      await Promise.all([own, ...shared].map((s) => s.close()));
    } finally {
      await alone.close();
    }
  });

  it('under a steady stream of commits reads once per interval, not once per commit, and still delivers everything', async () => {
    // given a store whose shared reader waits up to 200 ms between reads under load, and two subscriptions at its head
    const spaced = await PostgresEventStore.connect({
      connectionString: db.url,
      minReadIntervalMs: 0,
      maxReadIntervalMs: 200,
    });
    try {
      const from = (await spaced.readAll()).at(-1)!.globalPosition;
      const subscriptions = [
        spaced.subscribeToAll({ fromPosition: from }),
        spaced.subscribeToAll({ fromPosition: from, filter: { streamPrefixes: ['steady-a'] } }),
      ];
      const readsBefore = spaced.liveReads;
      const commits = 40;
      const receiving = Promise.all([
        take(subscriptions[0]!, commits, 30_000),
        take(subscriptions[1]!, commits / 2, 30_000),
      ]);

      // when two writers commit 40 events one at a time, each pausing 10 ms after a commit
      await Promise.all(
        Array.from({ length: 2 }, async (_, w) => {
          for (let n = 0; n < commits / 2; n++) {
            await spaced.appendToStream(`steady-${w ? 'a' : 'b'}`, [newEvent()]);
            await sleep(10);
          }
        }),
      );
      const received = await receiving;
      const expected = await Promise.all([
        spaced.readAll({ fromPosition: from }),
        spaced.readAll({ fromPosition: from, filter: { streamPrefixes: ['steady-a'] } }),
      ]);

      // then each subscription got exactly its events, in order, from far fewer reads than there were commits
      expect(ids(received[0]!)).toEqual(ids(expected[0]!));
      expect(ids(received[1]!)).toEqual(ids(expected[1]!));
      expect(received[0]).toHaveLength(commits);
      expect(spaced.liveReads - readsBefore).toBeLessThan(commits / 4);
      await Promise.all(subscriptions.map((s) => s.close()));
    } finally {
      await spaced.close();
    }
  });

  it('answers readAll near the head with the events the subscriptions were handed, then reads on to the head', async () => {
    // given a subscription at the head that took 30 events, and 5 more appended after it
    const from = (await store.readAll()).at(-1)!.globalPosition;
    const subscription = store.subscribeToAll({ fromPosition: from });
    for (let n = 0; n < 30; n++) await store.appendToStream(`held-${n % 3}`, [newEvent(n % 2 ? 'Kept' : 'Other')]);
    const delivered = await take(subscription, 30, 10_000);
    for (let n = 0; n < 5; n++) await store.appendToStream('held-late', [newEvent('Kept')]);

    // when readAll reads from inside what the feed holds, with and without a filter
    const all = await store.readAll({ fromPosition: delivered[4]!.globalPosition });
    const kept = await store.readAll({ fromPosition: from, filter: { eventTypes: ['Kept'] }, maxCount: 10 });
    const alone = await PostgresEventStore.connect({ connectionString: db.url, sharedLiveReads: false });
    try {
      // then it returns what a read of its own returns (everything up to the head, in order) …
      expect(ids(all)).toEqual(ids(await alone.readAll({ fromPosition: delivered[4]!.globalPosition })));
      expect(all).toHaveLength(30);
      expect(ids(kept)).toEqual(
        ids(await alone.readAll({ fromPosition: from, filter: { eventTypes: ['Kept'] }, maxCount: 10 })),
      );
      // … the events the feed held being the very objects the subscription got: not read and parsed again
      expect(all.slice(0, 25).every((event, i) => event === delivered[5 + i])).toBe(true);
    } finally {
      await alone.close();
      await subscription.close();
    }
  });
});
