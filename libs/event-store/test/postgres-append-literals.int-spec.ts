import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { verifyChain } from '@audit-ledger/integrity';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { InvalidAppendError } from '../src/errors.js';
import { PostgresEventStore } from '../src/postgres/postgres-event-store.js';
import { newEvent, rawClient } from './postgres-test-support.js';

/**
 * The append transaction sends its values inlined in simple-protocol messages (see sql-literal.ts). Whatever a caller
 * puts in stream ids, types and payloads must come back exactly, hash chain included, and never be read as SQL.
 */
const AWKWARD = [
  "it's",
  "''",
  'back\\slash \\\\ \\n \\x41 \\u0041',
  "E'not an escape string'",
  "'; DROP TABLE ledger.events; --",
  '$$ dollar $$ $tag$',
  'semi; colon',
  'new\nline\ttab\r',
  'ünïcödé ✓ 𝄞 漢字',
  '"double" {braces} [brackets] ,comma',
  'NULL',
];

describe('appends carry any text through the inlined literals', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.connect({ connectionString: db.url });
  });

  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  async function appendAndReadBack(writer: PostgresEventStore): Promise<void> {
    // given one append per awkward text, in one batch, the text in the stream id, the type and the payloads
    const prefix = `lit-${randomUUID()}-`;
    const appends = AWKWARD.map((text) => ({
      streamId: `${prefix}${text}`,
      event: {
        eventId: randomUUID(),
        type: `Type ${text}`,
        data: { [text]: text, nested: [text, { text }], n: 1.5 },
        metadata: { note: text },
      },
    }));
    await Promise.all(appends.map(({ streamId, event }) => writer.appendToStream(streamId, [event])));
    // then each reads back exactly as given, with a hash chain that verifies
    for (const { streamId, event } of appends) {
      const events = await writer.readStream(streamId);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ ...event, streamId, streamRevision: 0 });
      expect(verifyChain(events)).toBeNull();
    }
  }

  it('stores quotes, backslashes, SQL and unicode exactly', async () => {
    await appendAndReadBack(store);
  });

  it('reads the same with standard_conforming_strings off', async () => {
    const superuser: pg.Client = await rawClient(db.url);
    try {
      await superuser.query(`ALTER DATABASE ${db.name} SET standard_conforming_strings = off`);
    } finally {
      await superuser.end();
    }
    const legacy = await PostgresEventStore.connect({ connectionString: db.url, migrate: false });
    try {
      await appendAndReadBack(legacy);
    } finally {
      await legacy.close();
    }
  });

  it('refuses a NUL in a stream id or a type before it reaches a batch', async () => {
    const streamId = `lit-${randomUUID()}`;
    const outcomes = await Promise.allSettled([
      store.appendToStream(`${streamId}\u0000`, [newEvent()]),
      store.appendToStream(streamId, [newEvent('Nul\u0000Type')]),
      store.appendToStream(streamId, [newEvent()]),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
    for (const outcome of outcomes.slice(0, 2)) {
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(InvalidAppendError);
    }
  });
});
