import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { verifyChain } from '@audit-ledger/integrity';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { IdempotencyConflictError, InvalidAppendError, WrongExpectedVersionError } from '../src/errors.js';
import { PostgresEventStore } from '../src/postgres/postgres-event-store.js';
import { insertInOpenTransaction, newEvent, rawClient, waitFor } from './postgres-test-support.js';

describe('group commit', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let superuser: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.connect({ connectionString: db.url });
    superuser = await rawClient(db.url);
  });

  afterAll(async () => {
    await superuser?.end();
    await store?.close();
    await db?.drop();
  });

  async function transactionsOf(streamIds: string[]): Promise<number> {
    const { rows } = await superuser.query<{ count: number }>(
      'SELECT count(DISTINCT xmin::text)::int AS count FROM ledger.events WHERE stream_id = ANY($1)',
      [streamIds],
    );
    return rows[0]?.count ?? 0;
  }

  it('writes concurrent appends in one transaction, positions in call order', async () => {
    // given ten appends to different streams issued at once
    const streamIds = Array.from({ length: 10 }, (_, i) => `gc-${randomUUID()}-${i}`);
    // when they are acknowledged
    const results = await Promise.all(streamIds.map((streamId) => store.appendToStream(streamId, [newEvent()])));
    // then one transaction wrote them all, in the order of the calls
    expect(await transactionsOf(streamIds)).toBe(1);
    const positions = results.map((result) => result.lastPosition);
    expect([...positions].sort((a, b) => (a < b ? -1 : 1))).toEqual(positions);
  });

  it('rejects a request that fails its own check alone, in the same transaction as the others', async () => {
    const [a, b, c] = [1, 2, 3].map(() => `gc-${randomUUID()}`);
    const outcomes = await Promise.allSettled([
      store.appendToStream(a!, [newEvent()]),
      store.appendToStream(b!, [newEvent()], { expectedRevision: 'stream_exists' }),
      store.appendToStream(c!, [newEvent()]),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedVersionError);
    expect(await transactionsOf([a!, c!])).toBe(1);
  });

  it('retries one by one when a request breaks the batch transaction, failing only the culprit', async () => {
    // given a batch where one event holds a string the store refuses (NUL, as jsonb did), when appended together
    const [a, bad, c] = [1, 2, 3].map(() => `gc-${randomUUID()}`);
    const outcomes = await Promise.allSettled([
      store.appendToStream(a!, [newEvent()]),
      store.appendToStream(bad!, [newEvent('Bad', { text: 'nul \u0000 byte' })]),
      store.appendToStream(c!, [newEvent()]),
    ]);
    // then only the culprit fails, with a typed error, and the others are stored
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(InvalidAppendError);
    expect(await store.streamExists(bad!)).toBe(false);
    expect(await store.readStream(a!)).toHaveLength(1);
  });

  it('answers a request that lost a race with another process by its idempotency rules', async () => {
    // given another process holding an uncommitted insert of event id X in stream s1
    const holder = await rawClient(db.url);
    try {
      const eventId = randomUUID();
      await insertInOpenTransaction(holder, `gc-${randomUUID()}`, eventId);
      // when this store appends X to s2 together with an innocent append, and the other process then commits
      const s2 = `gc-${randomUUID()}`;
      const innocent = `gc-${randomUUID()}`;
      const outcomes = Promise.allSettled([
        store.appendToStream(s2, [{ ...newEvent(), eventId }]),
        store.appendToStream(innocent, [newEvent()]),
      ]);
      await waitFor('the batch to wait on the uncommitted event id', async () => {
        const { rows } = await superuser.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
              AND application_name = 'audit-ledger' AND wait_event_type = 'Lock'`,
        );
        return rows.length > 0;
      });
      await holder.query('COMMIT');
      // then the batch fails on the unique index, and the retries tell the conflict from the innocent append
      const [conflict, ok] = await outcomes;
      expect(conflict.status).toBe('rejected');
      expect((conflict as PromiseRejectedResult).reason).toBeInstanceOf(IdempotencyConflictError);
      expect(ok.status).toBe('fulfilled');
    } finally {
      await holder.end();
    }
  });

  it('keeps each stream gap-free and chained when two processes write the same streams', async () => {
    // given two stores (two processes) appending to the same three streams with no expectation
    const second = await PostgresEventStore.connect({ connectionString: db.url, migrate: false });
    const streams = [1, 2, 3].map(() => `gc-${randomUUID()}`);
    try {
      await Promise.all(
        [store, second].flatMap((writer) =>
          [0, 1, 2, 3].map(async (w) => {
            for (let i = 0; i < 30; i++) await writer.appendToStream(streams[(w + i) % 3]!, [newEvent(), newEvent()]);
          }),
        ),
      );
    } finally {
      await second.close();
    }
    // then every stream has contiguous revisions and a hash chain that verifies
    for (const streamId of streams) {
      const events = await store.readStream(streamId);
      expect(events).toHaveLength((2 * 4 * 30 * 2) / 3);
      expect(verifyChain(events)).toBeNull();
    }
  });

  it('decides on the stored heads and ids when another process wrote since this one remembered them', async () => {
    // given a stream this store wrote (so it remembers its head), then another process appended to it
    const second = await PostgresEventStore.connect({ connectionString: db.url, migrate: false });
    const streamId = `gc-${randomUUID()}`;
    try {
      await store.appendToStream(streamId, [newEvent()]);
      const theirs = newEvent();
      await second.appendToStream(streamId, [theirs], { expectedRevision: 0 });
      // when this store appends expecting the revision it remembers, then the current one, then their event again
      const stale = store.appendToStream(streamId, [newEvent()], { expectedRevision: 0 });
      await expect(stale).rejects.toBeInstanceOf(WrongExpectedVersionError);
      const current = await store.appendToStream(streamId, [newEvent()], { expectedRevision: 1 });
      const replay = await store.appendToStream(streamId, [theirs]);
      // then the stale expectation is refused, the current one written after theirs, and theirs is a replay
      expect(current.nextExpectedRevision).toBe(2);
      expect(replay).toMatchObject({ idempotentReplay: true, nextExpectedRevision: 1 });
    } finally {
      await second.close();
    }
    const events = await store.readStream(streamId);
    expect(events.map((e) => e.streamRevision)).toEqual([0, 1, 2]);
    expect(verifyChain(events)).toBeNull();
  });

  it('writes no_stream once when a stream it remembers as absent was created elsewhere', async () => {
    const second = await PostgresEventStore.connect({ connectionString: db.url, migrate: false });
    const streamId = `gc-${randomUUID()}`;
    try {
      // given this store saw the stream absent (a refused stream_exists), then another process created it
      await expect(
        store.appendToStream(streamId, [newEvent()], { expectedRevision: 'stream_exists' }),
      ).rejects.toBeInstanceOf(WrongExpectedVersionError);
      await second.appendToStream(streamId, [newEvent()], { expectedRevision: 'no_stream' });
      // when this store appends expecting no stream, then it is refused
      await expect(
        store.appendToStream(streamId, [newEvent()], { expectedRevision: 'no_stream' }),
      ).rejects.toBeInstanceOf(WrongExpectedVersionError);
    } finally {
      await second.close();
    }
    expect(await store.readStream(streamId)).toHaveLength(1);
  });
});
