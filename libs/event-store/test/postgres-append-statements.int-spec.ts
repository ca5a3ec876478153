import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { verifyChain } from '@audit-ledger/integrity';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { WrongExpectedVersionError } from '../src/errors.js';
import { PostgresEventStore } from '../src/postgres/postgres-event-store.js';
import { newEvent, rawClient } from './postgres-test-support.js';

/**
 * The append statements are prepared once per connection and run with one generic plan (append-statements.ts). These
 * tests show the plans follow the table: a plan made before a partition was rolled still sees the rows of the new one.
 */
describe('prepared append statements', () => {
  let db: TestDatabase;
  let superuser: pg.Client;
  let ours: PostgresEventStore;
  let theirs: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    superuser = await rawClient(db.url);
    // one connection each, so every append of a store runs on the connection that prepared (and planned) before
    ours = await PostgresEventStore.connect({ connectionString: db.url, poolSize: 1 });
    theirs = await PostgresEventStore.connect({ connectionString: db.url, poolSize: 1 });
  });

  afterAll(async () => {
    await ours?.close();
    await theirs?.close();
    await superuser?.end();
    await db?.drop();
  });

  const roll = () => superuser.query('SELECT ledger.roll_event_partition()');

  it('still finds a stream head written to a partition opened after the plans were made', async () => {
    // given a stream this process wrote (its head remembered, the plans of both paths made on this connection)
    const streamId = `st-${randomUUID()}`;
    await ours.appendToStream(streamId, [newEvent()], { expectedRevision: 'no_stream' });
    await ours.appendToStream(streamId, [newEvent()], { expectedRevision: 0 });
    // and another process that appends to it after the open partition is rolled (its row in the new partition)
    await roll();
    await theirs.appendToStream(streamId, [newEvent()], { expectedRevision: 1 });

    // when this process appends on the head it remembers
    const stale = ours.appendToStream(streamId, [newEvent()], { expectedRevision: 1 });
    // then the guard sees the other process's event and the append is refused, as a read of the stream would decide
    await expect(stale).rejects.toBeInstanceOf(WrongExpectedVersionError);
    // and with the current revision it is written after theirs, the hash chain unbroken across the partitions
    const written = await ours.appendToStream(streamId, [newEvent()], { expectedRevision: 2 });
    expect(written.nextExpectedRevision).toBe(3);
    const { rows } = await superuser.query<{ partitions: string }>(
      'SELECT count(DISTINCT tableoid)::text AS partitions FROM ledger.events WHERE stream_id = $1',
      [streamId],
    );
    expect(rows[0]!.partitions).toBe('2');
    expect(verifyChain(await ours.readStream(streamId))).toBeNull();
  });

  it('refuses an event id stored in a partition opened after the plans were made (a replay, not a duplicate)', async () => {
    // given an event this process appended, then a roll, then the same event id stored by another process elsewhere
    const streamId = `st-${randomUUID()}`;
    await ours.appendToStream(streamId, [newEvent()], { expectedRevision: 'no_stream' });
    await roll();
    const event = newEvent();
    const first = await theirs.appendToStream(streamId, [event], { expectedRevision: 0 });

    // when this process appends the same event again on its remembered head
    const again = await ours.appendToStream(streamId, [event], { expectedRevision: 0 });

    // then the guard finds the stored id in the new partition: the original answer, nothing written twice
    expect(again.lastPosition).toBe(first.lastPosition);
    const { rows } = await superuser.query<{ count: string }>(
      'SELECT count(*)::text AS count FROM ledger.events WHERE stream_id = $1',
      [streamId],
    );
    expect(rows[0]!.count).toBe('2');
  });
});
