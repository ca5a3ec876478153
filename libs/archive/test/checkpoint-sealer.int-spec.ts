import { PostgresEventStore, type NewEvent } from '@audit-ledger/event-store';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { within } from '../../../test/support/within.js';
import { CHECKPOINTS_STREAM, CheckpointSealer, resolveIntegrityKeys, verifyLedger } from '@audit-ledger/evidence';
import { partitionStartsReader } from '@audit-ledger/archive';
import pg from 'pg';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const anEvent = (n: number): NewEvent => ({
  eventId: randomUUID(),
  type: 'Happened',
  data: { n },
  metadata: { actor: 'test' },
});

/**
 * Issue 10 finding 9 (a shorter unprotected tail): the sealer keeps up with a backlog (one range after another, not one
 * per look), and an idle ledger seals nothing.
 */
describe('CheckpointSealer', () => {
  let database: TestDatabase;
  let store: PostgresEventStore;
  let dir: string;
  const checkpoints = async () =>
    (await store.readStream(CHECKPOINTS_STREAM).catch(() => [])).map((event) => event.data as { toPosition: string });
  const lastPosition = async () => (await store.readAll({ maxCount: 100_000 })).at(-1)?.globalPosition ?? 0n;

  beforeAll(async () => {
    database = await createTestDatabase();
    store = await PostgresEventStore.connect({ connectionString: database.url, poolSize: 3, logger: silent });
    dir = mkdtempSync(join(tmpdir(), 'ledger-sealer-'));
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('seals a backlog range after range without waiting a look per range, then stays idle', async () => {
    // given 60 unsealed events and a sealer that seals every 2 events and looks every 2 s
    for (let i = 0; i < 60; i++) await store.appendToStream(`s-${i % 3}`, [anEvent(i)]);
    const sealer = new CheckpointSealer({
      store,
      keys: resolveIntegrityKeys({ dataDir: dir }),
      everyEvents: 2,
      everyMs: 3_600_000,
      pollMs: 2_000,
      logger: silent,
    });
    sealer.start();
    try {
      // then the 30 ranges are sealed after its first look (one range per look would take 60 s)
      const sealed = await within(20_000, 'the backlog to be sealed', async () => {
        const all = await checkpoints();
        return all.length >= 30 ? all : undefined;
      });
      expect(sealed).toHaveLength(30);
      // …and nothing more while nothing else is appended (checkpoint events alone never make a seal due)
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(await checkpoints()).toHaveLength(30);
      expect(BigInt(sealed.at(-1)!.toPosition)).toBeLessThan(await lastPosition());
    } finally {
      await sealer.stop();
    }
  }, 60_000);

  it('ends every range at a partition bound, also when the positions before it are holes', async () => {
    // given sealed history, then one event and two positions taken by rolled-back appends, then a roll, then an event
    const keys = resolveIntegrityKeys({ dataDir: dir }); // the first test's key signed its checkpoints
    const starts = partitionStartsReader(database.url);
    const sealer = new CheckpointSealer({
      store,
      keys,
      everyEvents: 1_000,
      everyMs: 3_600_000,
      logger: silent,
      partitionStarts: starts.read,
    });
    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    try {
      while (await sealer.sealNow()) {
        // what the first test left
      }
      await store.appendToStream('bounds-a', [anEvent(1)]);
      await sql.query("SELECT nextval('ledger.events_global_position_seq') FROM generate_series(1, 2)");
      await sql.query('SELECT ledger.roll_event_partition()');
      const { rows } = await sql.query<{ p: string }>(
        'SELECT first_position::text AS p FROM ledger.event_partitions WHERE end_position IS NULL',
      );
      const bound = BigInt(rows[0]!.p);
      await store.appendToStream('bounds-b', [anEvent(2)]);

      // when everything is sealed
      while (await sealer.sealNow()) {
        // range after range
      }

      // then a checkpoint ends right before the bound (holding the holes as absent) and none crosses it
      const ranges = (await checkpoints()).map((c) => c as unknown as { fromPosition: string; toPosition: string });
      expect(ranges.some((c) => BigInt(c.toPosition) === bound - 1n)).toBe(true);
      expect(ranges.filter((c) => BigInt(c.fromPosition) < bound && BigInt(c.toPosition) >= bound)).toEqual([]);
      // and the ledger verifies
      const report = await verifyLedger({ databaseUrl: database.url, keys: keys.ring });
      expect(report.firstProblem).toBeNull();
    } finally {
      await sql.end();
      await starts.close();
    }
  }, 60_000);
});
