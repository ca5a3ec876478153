import { PostgresEventStore, type NewEvent } from '@audit-ledger/event-store';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { within } from '../../../test/support/within.js';
import { CHECKPOINTS_STREAM, CheckpointSealer, resolveIntegrityKeys } from '../src/integrity/index.js';

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
});
