import { ArchiveDropNotApprovedError, type Principal } from '@audit-ledger/domain';
import { PostgresEventStore, type NewEvent } from '@audit-ledger/event-store';
import { chainHash, type ChainedEvent } from '@audit-ledger/integrity';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { fillEvents, sealAll } from '../../../bench/src/archive-workload.js';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import {
  approveArchiveDrop,
  archiveBefore,
  dropArchive,
  verifyArchivedLedger,
  checkArchiveFileFast,
  partitionStartsReader,
} from '@audit-ledger/archive';
import { bundlePublicKeys, CheckpointSealer, resolveIntegrityKeys, type IntegrityKeys } from '@audit-ledger/evidence';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const admin = (name: string): Principal => ({ id: `key:${name}/${name}0000`, kind: 'api-key', name, roles: ['admin'] });
const alice = admin('alice');
const bob = admin('bob');
const ARCHIVED = 100_000;
const STREAMS = 1_000;
const recent = (n: number): NewEvent => ({
  eventId: randomUUID(),
  type: 'Happened',
  data: { n },
  metadata: { actor: 'test' },
});

/**
 * Issue 13, item 3: an archive round trip on 100,000 events. Archive the closed partitions recorded before a date
 * (files in the evidence-bundle format, verified, ArchiveSealed), refuse the drop on one approval, drop on two
 * (partitions detached, signed tombstone), then verify from the tombstone on and, with the files, as one chain; an
 * edited or forged archive file fails naming the event.
 */
describe('sealed archives: archive, two-person drop, verify across the tombstone', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let sql: pg.Client;
  let dir: string;
  let keys: IntegrityKeys;
  let sealer: CheckpointSealer;
  let starts: ReturnType<typeof partitionStartsReader>;

  const count = async () =>
    Number((await sql.query<{ n: string }>('SELECT count(*) AS n FROM ledger.events')).rows[0]!.n);
  const context = (principal: Principal) => ({ databaseUrl: db.url, store, principal });

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.connect({ connectionString: db.url, poolSize: 3, logger: silent });
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    dir = mkdtempSync(join(tmpdir(), 'ledger-archive-'));
    keys = resolveIntegrityKeys({ dataDir: join(dir, 'data') });
    starts = partitionStartsReader(db.url);
    sealer = new CheckpointSealer({
      store,
      keys,
      everyEvents: 10_000,
      everyMs: 3_600_000,
      batchSize: 5_000,
      logger: silent,
      partitionStarts: starts.read,
    });
  });
  afterAll(async () => {
    await starts?.close();
    await sql?.end();
    await store?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('round-trips 100,000 events', async () => {
    // given 100,000 events recorded in 2025 in 1,000 streams, in a partition closed since, sealed by checkpoints
    await fillEvents(sql, {
      count: ARCHIVED,
      streams: STREAMS,
      streamPrefix: 'approval-old',
      firstRecordedAt: new Date('2025-01-01T00:00:00Z'),
      stepMs: 60_000,
      payload: 'small',
    });
    await sql.query('SELECT ledger.roll_event_partition()');
    await sealAll(sealer);
    // …and newer events, some continuing the old streams, in the open partition
    for (let i = 0; i < 20; i++) await store.appendToStream(`approval-old-${i}`, [recent(i)], { expectedRevision: 99 });
    for (let i = 0; i < 20; i++) await store.appendToStream(`approval-new-${i}`, [recent(i)]);
    await sealAll(sealer);
    const total = await count();

    // when the ranges recorded before 2026 are archived
    const out = join(dir, 'archives');
    const { archive } = await archiveBefore({
      ...context(alice),
      before: new Date('2026-01-01T00:00:00Z'),
      outDir: out,
      publicKeys: bundlePublicKeys([keys.signing.publicKey]),
      keys: keys.ring,
    });

    // then the archive holds the 100,000 events in files recorded by ArchiveSealed with the principal
    expect(archive).toMatchObject({ fromPosition: '1', toPosition: String(ARCHIVED), eventCount: ARCHIVED });
    const files = archive!.files.map((file) => join(out, `archive-${archive!.archiveId}`, file.name));
    expect(files).toHaveLength(2);
    const sealedEvents = await store.readStream('archives');
    expect(sealedEvents.map((event) => [event.type, event.metadata.actor])).toEqual([['ArchiveSealed', alice.id]]);
    // (the files were verified as one chain by archiveBefore before it recorded them; verified again below)

    // and a copy of the first file with one event edited and another forged (its hash recomputed)
    const tampered = join(dir, 'tampered', archive!.files[0]!.name);
    mkdirSync(join(dir, 'tampered'));
    const bundle = JSON.parse(readFileSync(files[0]!, 'utf8')) as { events: ChainedEvent[] };
    bundle.events[4_321]!.data = { n: -1 };
    const forged = bundle.events[30_000]!;
    forged.data = { n: -2 };
    forged.hash = chainHash(forged.prevHash, forged);
    writeFileSync(tampered, JSON.stringify(bundle));
    // (the files as written are proven from their bytes; the tampered copy is left to the full verify-bundle check)
    expect(files.map((file) => checkArchiveFileFast(readFileSync(file), keys.ring)?.eventCount)).toEqual(
      archive!.files.map((file) => file.eventCount),
    );
    expect(checkArchiveFileFast(readFileSync(tampered), keys.ring)).toBeNull();
    // …nor a copy with one byte changed in a proof's first or last sibling, its leaf index or its end, a payload or a link
    const written = readFileSync(files[0]!);
    const edited = (marker: string, skip: number) => {
      const copy = Buffer.from(written);
      const at = copy.indexOf(marker, written.length >> 1) + marker.length + skip;
      copy[at] = copy[at] === 0x30 ? 0x31 : copy[at] === 0x7d ? 0x20 : 0x30;
      return checkArchiveFileFast(copy, keys.ring);
    };
    expect(edited('"auditPath":["', 0)).toBeNull();
    expect(edited('"],"checkpointHash":"', -2)).toBeNull();
    expect(edited('"leafIndex":', 0)).toBeNull();
    expect(edited(',"treeSize":', 0)).toBeNull();
    expect(edited(',"treeSize":10000', 0)).toBeNull(); // its `}`
    expect(edited('{"data":{', 4)).toBeNull();
    expect(edited('"prevHash":"', 63)).toBeNull();

    // when one admin approves and the drop is tried, then it is refused and nothing leaves the database
    await approveArchiveDrop({ ...context(alice), archiveId: archive!.archiveId });
    const drop = (principal: Principal) =>
      dropArchive({
        ...context(principal),
        archiveId: archive!.archiveId,
        archiveDir: join(out, `archive-${archive!.archiveId}`),
        keys: keys.ring,
        signing: keys.signing,
      });
    await expect(drop(alice)).rejects.toBeInstanceOf(ArchiveDropNotApprovedError);
    expect(await count()).toBe(total + 2); // the archive's two events only

    // when a second admin approves, then the drop detaches the archived partition and appends a signed tombstone
    await approveArchiveDrop({ ...context(bob), archiveId: archive!.archiveId });
    const tombstone = await drop(bob);
    expect(tombstone).toMatchObject({
      toPosition: String(ARCHIVED),
      approvedBy: [alice.id, bob.id],
      droppedBy: bob.id,
    });
    expect(await count()).toBe(total + 4 - ARCHIVED);

    // then the database verifies from the tombstone on…
    const fromTombstone = await verifyArchivedLedger({ databaseUrl: db.url, keys: keys.ring });
    expect(fromTombstone).toMatchObject({ ok: true, tombstone: { toPosition: String(ARCHIVED) } });
    // …and with the archive files as one chain, the old streams' new events linking to their archived ones
    const whole = await verifyArchivedLedger({ databaseUrl: db.url, keys: keys.ring, archives: files });
    expect(whole.firstProblem).toBeNull();
    expect(whole.archives).toMatchObject({ eventCount: ARCHIVED, toPosition: String(ARCHIVED) });

    // and with the tampered file instead of the first, it fails naming the edited and the forged events
    const broken = await verifyArchivedLedger({
      databaseUrl: db.url,
      keys: keys.ring,
      archives: [tampered, files[1]!],
    });
    expect(broken.ok).toBe(false);
    expect(broken.firstProblem).toMatchObject({ kind: 'edited', position: '4322' });
    expect(broken.problems).toContainEqual(expect.objectContaining({ kind: 'inclusion', position: '30001' }));
  }, 600_000);
});
