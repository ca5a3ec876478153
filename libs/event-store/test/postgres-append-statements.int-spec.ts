import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { verifyChain } from '@audit-ledger/integrity';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { WrongExpectedVersionError } from '../src/errors.js';
import { GENERIC_PLANS, PREPARE_APPEND_STATEMENTS } from '../src/postgres/append-statements.js';
import { WRITER_ROLE } from '../src/postgres/ledger-schema.js';
import { PostgresEventStore } from '../src/postgres/postgres-event-store.js';
import { newEvent, rawClient } from './postgres-test-support.js';

/**
 * The append statements are prepared once per connection and run with one generic plan (append-statements.ts). These
 * tests show the plans follow the table: a plan made before a partition was rolled still sees the rows of the new one,
 * and a plan made on an empty table looks events up by index, not by scanning them all.
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

  it('plans every lookup of an append on its index, even when the plan is made on an empty table', async () => {
    // given a fresh database (no events) and a connection with the append statements prepared, as the writer pool does
    const fresh = await createTestDatabase();
    await PostgresEventStore.connect({ connectionString: fresh.url }).then((store) => store.close());
    const writer = await rawClient(fresh.url);
    try {
      await writer.query(`SET ROLE ${WRITER_ROLE};\n${PREPARE_APPEND_STATEMENTS}`);
      // when their generic plans are made inside an append transaction
      await writer.query(`BEGIN; ${GENERIC_PLANS}`);
      const id = `'${randomUUID()}'`;
      const plans = await Promise.all(
        [
          `ledger_append_insert(ARRAY['s']::text[], ARRAY[0]::bigint[], ARRAY['h']::text[], ARRAY[${id}]::uuid[],
             ARRAY[${id}]::uuid[], ARRAY['s']::text[], ARRAY[1]::bigint[], ARRAY['t']::text[], ARRAY['{}']::text[],
             ARRAY['{}']::text[], ARRAY['h']::text[], ARRAY['h1']::text[])`,
          `ledger_append_read_heads(ARRAY['s']::text[])`,
          `ledger_append_read_stored(ARRAY[${id}]::uuid[])`,
        ].map(async (execute) => {
          const { rows } = await writer.query<{ 'QUERY PLAN': string }>(`EXPLAIN EXECUTE ${execute}`);
          return rows.map((row) => row['QUERY PLAN']).join('\n');
        }),
      );
      await writer.query('ROLLBACK');
      // then each reads the events table through its indexes only: no plan scans a partition whole
      for (const plan of plans) {
        expect(plan).toMatch(/Index/);
        expect(plan).not.toMatch(/Seq Scan/);
      }
    } finally {
      await writer.end();
      await fresh.drop();
    }
  });
});
