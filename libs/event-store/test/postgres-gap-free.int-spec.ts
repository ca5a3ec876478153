import type pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { type RecordedEvent, type Subscription } from '../src/event-store.port.js';
import { PostgresEventStore } from '../src/postgres/postgres-event-store.js';
import { insertInOpenTransaction, insertRow, newEvent, nextWithin, rawClient } from './postgres-test-support.js';

/**
 * Real holes in the global order, made deterministically with raw connections: a transaction takes a position and
 * stays open while another commits a higher one. Readers must deliver nothing past the hole until it fills or is
 * proven permanent (see gap-free-reader.ts).
 */
describe('gap-free reads by global position', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let holder: pg.Client;
  let other: pg.Client;
  let start: bigint;
  let subscription: Subscription;
  let iterator: AsyncIterator<RecordedEvent>;
  const pending: { next?: Promise<IteratorResult<RecordedEvent>> } = {};

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.connect({ connectionString: db.url, readAllHoleWaitMs: 200 });
    [holder, other] = await Promise.all([rawClient(db.url), rawClient(db.url)]);
  });

  beforeEach(async () => {
    start = (await store.appendToStream(`marker-${Date.now()}`, [newEvent()])).lastPosition;
    subscription = store.subscribeToAll({ fromPosition: start });
    iterator = subscription[Symbol.asyncIterator]();
    pending.next = undefined;
  });

  afterEach(async () => {
    await subscription.close();
    await holder.query('ROLLBACK');
    await other.query('ROLLBACK');
  });

  afterAll(async () => {
    await Promise.all([holder?.end(), other?.end()]);
    await store?.close();
    await db?.drop();
  });

  async function positionsReadAll(): Promise<bigint[]> {
    return (await store.readAll({ fromPosition: start })).map((event) => event.globalPosition);
  }

  it('holds back a committed position while a lower one is in flight, then delivers both once it commits', async () => {
    // given a writer holding position p1 open and another that committed p2 > p1
    const p1 = await insertInOpenTransaction(holder, 'hole-a');
    const p2 = await insertInOpenTransaction(other, 'hole-b');
    await other.query('COMMIT');
    expect(p2).toBeGreaterThan(p1);
    // when read, then p2 is not delivered
    expect(await positionsReadAll()).toEqual([]);
    expect(await nextWithin(iterator, pending, 300)).toBeUndefined();
    // when the holder commits, then both arrive in order
    await holder.query('COMMIT');
    expect(await positionsReadAll()).toEqual([p1, p2]);
    expect((await nextWithin(iterator, pending, 3000))?.globalPosition).toBe(p1);
    expect((await nextWithin(iterator, pending, 3000))?.globalPosition).toBe(p2);
  });

  it('steps over a position whose transaction rolled back', async () => {
    const p1 = await insertInOpenTransaction(holder, 'rolled-back');
    const p2 = await insertInOpenTransaction(other, 'kept');
    await other.query('COMMIT');
    expect(await nextWithin(iterator, pending, 300)).toBeUndefined();
    // when the holder rolls back, then p1 never appears and p2 is delivered
    await holder.query('ROLLBACK');
    expect(await positionsReadAll()).toEqual([p2]);
    const delivered = await nextWithin(iterator, pending, 3000);
    expect(delivered?.globalPosition).toBe(p2);
    expect(p1).toBeLessThan(p2);
  });

  it('holds back even when the lower position belongs to a younger transaction id', async () => {
    // given the committing writer got its transaction id BEFORE the holder, which then took the lower position:
    // the snapshot's xmax (latest completed id + 1) no longer bounds the holder's id, and xmin may equal xmax
    await other.query('BEGIN');
    await other.query('SELECT pg_current_xact_id()');
    const p1 = await insertInOpenTransaction(holder, 'young-holder');
    const p2 = await insertRow(other, 'old-committer');
    await other.query('COMMIT');
    expect(p2).toBeGreaterThan(p1);
    // when read, then p2 is still held back
    expect(await positionsReadAll()).toEqual([]);
    expect(await nextWithin(iterator, pending, 300)).toBeUndefined();
    await holder.query('COMMIT');
    expect(await positionsReadAll()).toEqual([p1, p2]);
    expect((await nextWithin(iterator, pending, 3000))?.globalPosition).toBe(p1);
  });

  it('steps over a position burned by a failed statement', async () => {
    // given a position taken by an insert that failed (a duplicate event id), followed by a committed one
    const duplicate = (await store.appendToStream('burn-1', [newEvent()])).events[0]!.eventId;
    await expect(insertRow(holder, 'burn-2', duplicate)).rejects.toMatchObject({ code: '23505' });
    const after = await store.appendToStream('burn-3', [newEvent()]);
    // when read, then everything committed is delivered and the burned position is skipped
    const read = await positionsReadAll();
    expect(read).toHaveLength(2);
    expect(read[1]).toBe(after.lastPosition);
    expect(read[1]! - read[0]!).toBe(2n);
    await nextWithin(iterator, pending, 3000);
    expect((await nextWithin(iterator, pending, 3000))?.globalPosition).toBe(after.lastPosition);
  });
});
