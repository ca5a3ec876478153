import { PostgresEventStore } from '@audit-ledger/event-store';
import { generateApiKey } from '@audit-ledger/api-keys';
import { CheckpointSealer, resolveIntegrityKeys } from '@audit-ledger/evidence';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { fillEvents } from '../../../bench/src/archive-workload.js';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { runLedgerBin, type CliRun } from './support/run-bin.js';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * `ledger archive` end to end through the real bin: archive, the two-person drop refused then done, `ledger verify`
 * from the tombstone and with `--archive`, a tampered archive named by position. Admin keys are authenticated against
 * the key table in the database.
 */
describe('ledger archive (CLI)', () => {
  let db: TestDatabase;
  let dir: string;
  const keys: Record<'alice' | 'bob' | 'rita', string> = { alice: '', bob: '', rita: '' };

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = mkdtempSync(join(tmpdir(), 'ledger-archive-cli-'));
    const store = await PostgresEventStore.connect({ connectionString: db.url, poolSize: 2, logger: silent });
    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    try {
      // 3,000 events recorded in 2025, in a closed partition, sealed; then three API keys, in the open partition
      await fillEvents(sql, {
        count: 3_000,
        streams: 30,
        streamPrefix: 'approval-cli',
        firstRecordedAt: new Date('2025-03-01T00:00:00Z'),
        stepMs: 1_000,
        payload: 'small',
      });
      await sql.query('SELECT ledger.roll_event_partition()');
      const sealer = new CheckpointSealer({
        store,
        keys: resolveIntegrityKeys({ dataDir: join(dir, 'data') }),
        everyEvents: 500,
        everyMs: 3_600_000,
        logger: silent,
        partitionStarts: async () =>
          (await sql.query<{ p: string }>('SELECT first_position::text AS p FROM ledger.event_partitions')).rows.map(
            (row) => BigInt(row.p),
          ),
      });
      for (const [name, roles] of [
        ['alice', ['admin']],
        ['bob', ['admin']],
        ['rita', ['reader']],
      ] as const) {
        const key = generateApiKey();
        keys[name] = key.key;
        await store.appendToStream('principals', [
          {
            eventId: randomUUID(),
            type: 'ApiKeyIssued',
            data: {
              keyId: key.keyId,
              name,
              roles: [...roles],
              keyHash: key.keyHash,
              issuedAt: new Date().toISOString(),
            },
            metadata: { actor: 'system:bootstrap' },
          },
        ]);
      }
      while (await sealer.sealIfDue()) {
        // up to the partition bound
      }
      while (await sealer.sealNow()) {
        // the rest
      }
    } finally {
      await sql.end();
      await store.close();
    }
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const ledger = (args: string[], as: keyof typeof keys): Promise<CliRun> =>
    runLedgerBin([...args, '--database-url', db.url, '--api-key', keys[as]], {
      cwd: dir,
      env: { LEDGER_DATA_DIR: join(dir, 'data') },
    });
  const verify = (args: string[] = []) =>
    runLedgerBin(['verify', '--database-url', db.url, ...args], {
      cwd: dir,
      env: { LEDGER_DATA_DIR: join(dir, 'data') },
    });

  it('archives, refuses a one-admin drop, drops on two, and verifies across the tombstone', async () => {
    const archived = await ledger(['archive', '--before', '2026-01-01', '--out', 'archives'], 'alice');
    expect(archived.stderr).toBe('');
    expect(archived.code).toBe(0);
    expect(archived.stdout).toContain('sealed archive 1-3000: positions 1..3000, 3000 events');

    expect((await ledger(['archive', 'approve', '1-3000'], 'rita')).stderr).toContain('ARCHIVE.NOT_ADMIN');
    expect((await ledger(['archive', 'approve', '1-3000', '--reason', 'older than 12 months'], 'alice')).code).toBe(0);
    const refused = await ledger(['archive', 'drop', '1-3000', '--out', 'archives'], 'alice');
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('ARCHIVE.DROP_NOT_APPROVED');
    expect((await ledger(['archive', 'approve', '1-3000'], 'bob')).code).toBe(0);
    const dropped = await ledger(['archive', 'drop', '1-3000', '--out', 'archives'], 'bob');
    expect(dropped.stderr).toBe('');
    expect(dropped.stdout).toContain('partitions events_p000002 detached, approved by key:');

    const fromTombstone = await verify();
    expect(fromTombstone.code).toBe(0);
    expect(fromTombstone.stdout).toContain('positions 1..3000 archived and dropped');
    const folder = join(dir, 'archives', 'archive-1-3000');
    const files = readdirSync(folder).map((name) => join(folder, name));
    const whole = await verify(['--archive', ...files]);
    expect(whole.code).toBe(0);
    expect(whole.stdout).toContain('3000 archived events verified in 1 files');

    const bundle = JSON.parse(readFileSync(files[0]!, 'utf8')) as { events: { data: unknown }[] };
    bundle.events[1_233]!.data = { n: 'edited' };
    const tampered = join(dir, 'tampered.json');
    writeFileSync(tampered, JSON.stringify(bundle));
    const broken = await verify(['--archive', tampered]);
    expect(broken.code).toBe(5);
    expect(broken.stdout).toMatch(/^FAILED at position 1234 \(tampered\.json\): edited: /);
  }, 180_000);
});
