import type { Principal } from '@audit-ledger/domain';
import { PostgresEventStore } from '@audit-ledger/event-store';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { fillEvents, sealInThousands } from '../../../bench/src/archive-workload.js';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { archiveBefore, ArchiveRefusedError, checkArchiveFileFast, partitionStartsReader } from '@audit-ledger/archive';
import { bundlePublicKeys, resolveIntegrityKeys, type IntegrityKeys } from '@audit-ledger/evidence';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const alice: Principal = { id: 'key:alice/alice0000', kind: 'api-key', name: 'alice', roles: ['admin'] };

/**
 * The archive writer copies the stored payloads into the file as they are and leaves each event's hash to the check
 * that reads the file back. A file whose check fails is written again with every hash recomputed from the rows: an
 * event stored before event-store migration 2 (its payload text not RFC 8785) is archived canonicalised, and an
 * edited event is refused, named.
 */
describe('archive: events whose stored text is not what they were hashed over', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let sql: pg.Client;
  let dir: string;
  let keys: IntegrityKeys;
  let starts: ReturnType<typeof partitionStartsReader>;

  const withoutGuard = async (statement: string) => {
    await sql.query('ALTER TABLE ledger.events DISABLE TRIGGER events_append_only');
    try {
      await sql.query(statement);
    } finally {
      await sql.query('ALTER TABLE ledger.events ENABLE TRIGGER events_append_only');
    }
  };
  const archive = (before: string) =>
    archiveBefore({
      databaseUrl: db.url,
      store,
      principal: alice,
      before: new Date(before),
      outDir: join(dir, 'archives'),
      publicKeys: bundlePublicKeys([keys.signing.publicKey]),
      keys: keys.ring,
    });

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.connect({ connectionString: db.url, poolSize: 2, logger: silent });
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    dir = mkdtempSync(join(tmpdir(), 'ledger-archive-text-'));
    keys = resolveIntegrityKeys({ dataDir: join(dir, 'data') });
    starts = partitionStartsReader(db.url);
    // two closed partitions: 3,000 events recorded in 2024, 3,000 in 2025, sealed
    for (const [prefix, year] of [
      ['approval-a', '2024'],
      ['approval-b', '2025'],
    ] as const) {
      await fillEvents(sql, {
        count: 3_000,
        streams: 30,
        streamPrefix: prefix,
        firstRecordedAt: new Date(`${year}-01-01T00:00:00Z`),
        stepMs: 60_000,
        payload: 'small',
      });
      await sql.query('SELECT ledger.roll_event_partition()');
    }
    await sealInThousands({ store, keys, partitionStarts: starts.read });
  });
  afterAll(async () => {
    await starts?.close();
    await sql?.end();
    await store?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('archives an event stored as non-canonical text canonicalised, as it was hashed', async () => {
    // given event 1,235 stored as `{ "n" : 1234 }` (as before migration 2), hashed over `{"n":1234}`
    await withoutGuard(`UPDATE ledger.events SET data = '{ "n" : 1234 }'::json WHERE global_position = 1235`);

    // when the 2024 partition is archived
    const { archive: sealed } = await archive('2025-01-01T00:00:00Z');

    // then it is, and its file holds the event's canonical text and is proven from its bytes
    expect(sealed).toMatchObject({ fromPosition: '1', toPosition: '3000', eventCount: 3_000 });
    const file = join(dir, 'archives', `archive-${sealed!.archiveId}`, sealed!.files[0]!.name);
    const bytes = readFileSync(file);
    expect(bytes.includes('{"data":{"n":1234},')).toBe(true);
    expect(bytes.includes('{ "n" : 1234 }')).toBe(false);
    expect(checkArchiveFileFast(bytes, keys.ring)).toMatchObject({
      eventCount: 3_000,
      sha256: sealed!.files[0]!.sha256,
    });
  }, 120_000);

  it('refuses to archive an edited event, naming it', async () => {
    // given event 4,500 (of the 2025 partition) edited after it was sealed
    await withoutGuard(`UPDATE ledger.events SET data = '{"n":-1}'::json WHERE global_position = 4500`);

    // when the 2025 partition is archived, then it is refused naming the event, and nothing is recorded
    const refused = await archive('2026-01-01T00:00:00Z').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ArchiveRefusedError);
    expect((refused as Error).message).toMatch(/position 4500 .*does not match its hash/);
    expect((await store.readStream('archives')).map((event) => event.type)).toEqual(['ArchiveSealed']);
  }, 120_000);
});
