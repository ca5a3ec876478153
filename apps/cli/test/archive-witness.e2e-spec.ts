import { PostgresEventStore } from '@audit-ledger/event-store';
import { generateApiKey } from '@audit-ledger/api-keys';
import {
  appendToWitnessFile,
  CheckpointSealer,
  resolveIntegrityKeys,
  startWitnessServer,
} from '@audit-ledger/evidence';
import { parseSealedCheckpoint, type SealedCheckpoint } from '@audit-ledger/integrity';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { fillEvents } from '../../../bench/src/archive-workload.js';
import { freePort } from '../../ledger/src/shared/free-port.js';
import { spawnLedger, type LedgerProcess } from '../../../test/support/ledger-process.js';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { within } from '../../../test/support/within.js';
import { runLedgerBin, type CliRun } from './support/run-bin.js';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * A witness across `ledger archive drop` (issue 13): the checkpoints sealed in the archived partition leave the
 * database with it. `ledger verify --witness` checks the witness lines up to the tombstone against the tombstone
 * (and, with `--archive`, against the archive's checkpoints) and the rest against the database; a ledger restarted
 * after the drop starts against its witness file and its HTTP witness and goes on publishing to them.
 */
describe('ledger verify --witness across an archive drop (CLI)', () => {
  let db: TestDatabase;
  let dir: string;
  let witnessFile: string;
  let httpWitnessDir: string;
  const keys: Record<'alice' | 'bob', string> = { alice: '', bob: '' };
  let running: LedgerProcess | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = mkdtempSync(join(tmpdir(), 'ledger-archive-witness-'));
    witnessFile = join(dir, 'witness.jsonl');
    httpWitnessDir = join(dir, 'http-witness');
    const store = await PostgresEventStore.connect({ connectionString: db.url, poolSize: 2, logger: silent });
    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    try {
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
      const sealDue = async () => {
        while (await sealer.sealIfDue()) {
          // every 500 events, up to a partition bound
        }
      };
      // 2 × 1,500 events recorded in 2025, with the checkpoints sealed between them in the same partition (they
      // leave the database with it); then the partition is closed, two admin keys and more events land in the next.
      for (const prefix of ['first', 'second']) {
        await fillEvents(sql, {
          count: 1_500,
          streams: 15,
          streamPrefix: `witness-${prefix}`,
          firstRecordedAt: new Date(prefix === 'first' ? '2025-03-01T00:00:00Z' : '2025-06-01T00:00:00Z'),
          stepMs: 1_000,
          payload: 'small',
        });
        await sealDue();
      }
      await sql.query('SELECT ledger.roll_event_partition()');
      for (const name of ['alice', 'bob'] as const) {
        const key = generateApiKey();
        keys[name] = key.key;
        await store.appendToStream('principals', [
          {
            eventId: randomUUID(),
            type: 'ApiKeyIssued',
            data: {
              keyId: key.keyId,
              name,
              roles: ['admin'],
              keyHash: key.keyHash,
              issuedAt: new Date().toISOString(),
            },
            metadata: { actor: 'system:bootstrap' },
          },
        ]);
      }
      await fillEvents(sql, {
        count: 600,
        streams: 6,
        streamPrefix: 'witness-after',
        firstRecordedAt: new Date(),
        stepMs: 1,
        payload: 'small',
      });
      await sealDue();
      while (await sealer.sealNow()) {
        // the rest
      }
      // What the ledger's witness publisher sends: every checkpoint, in chain order, to the file and the HTTP witness.
      const { rows } = await sql.query<{ data: unknown }>(
        "SELECT data FROM ledger.events WHERE stream_id = 'checkpoints' ORDER BY stream_revision",
      );
      mkdirSync(httpWitnessDir, { recursive: true, mode: 0o700 });
      for (const row of rows) {
        const checkpoint = parseSealedCheckpoint(row.data)!;
        await appendToWitnessFile(witnessFile, checkpoint);
        await appendToWitnessFile(join(httpWitnessDir, 'checkpoints.jsonl'), checkpoint);
      }
    } finally {
      await sql.end();
      await store.close();
    }
  }, 120_000);
  afterAll(async () => {
    await running?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = () => ({ LEDGER_DATA_DIR: join(dir, 'data') });
  const ledger = (args: string[], as: keyof typeof keys): Promise<CliRun> =>
    runLedgerBin([...args, '--database-url', db.url, '--api-key', keys[as]], { cwd: dir, env: env() });
  const verify = (args: string[]) =>
    runLedgerBin(['verify', '--database-url', db.url, ...args], { cwd: dir, env: env() });
  const witnessLines = (file: string) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as SealedCheckpoint);
  const writeWitness = (name: string, lines: SealedCheckpoint[]) => {
    const file = join(dir, name);
    writeFileSync(file, lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
    return file;
  };

  it('verifies the witness from and before the tombstone, catches edited lines, and restarts against it', async () => {
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const archived = await ledger(['archive', '--before', tomorrow, '--out', 'archives'], 'alice');
    expect(archived.stderr).toBe('');
    const [, archiveId, lastArchived] = /sealed archive (\S+): positions 1\.\.(\d+)/.exec(archived.stdout)!;
    expect((await ledger(['archive', 'approve', archiveId!], 'alice')).code).toBe(0);
    expect((await ledger(['archive', 'approve', archiveId!], 'bob')).code).toBe(0);
    const dropped = await ledger(['archive', 'drop', archiveId!, '--out', 'archives'], 'bob');
    expect(dropped.stderr).toBe('');
    expect(dropped.code).toBe(0);

    // the witness's first lines are checkpoints the database no longer holds
    const lines = witnessLines(witnessFile);
    const atTombstone = lines.findIndex((line) => line.toPosition === lastArchived);
    expect(atTombstone).toBeGreaterThanOrEqual(2);
    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    const [{ n }] = (
      await sql.query<{ n: string }>(
        "SELECT count(*)::text AS n FROM ledger.events WHERE stream_id = 'checkpoints' AND stream_revision < $1",
        [atTombstone],
      )
    ).rows as [{ n: string }];
    await sql.end();
    expect(n).toBe('0');

    const fromTombstone = await verify(['--witness', witnessFile]);
    expect(fromTombstone.stdout).toMatch(/^OK: /);
    expect(fromTombstone.code).toBe(0);
    expect(fromTombstone.stdout).toContain(
      `${lines.length} witnessed checkpoints (${atTombstone} before the tombstone covered by the archive, not checked)`,
    );
    const folder = join(dir, 'archives', `archive-${archiveId}`);
    const files = readdirSync(folder).map((name) => join(folder, name));
    const whole = await verify(['--witness', witnessFile, '--archive', ...files]);
    expect(whole.stdout).toMatch(/^OK: /);
    expect(whole.code).toBe(0);
    expect(whole.stdout).not.toContain('not checked');

    // a line before the tombstone edited: caught with the archive (without it, that range is not checked)
    const edited = lines.map((line) => ({ ...line }));
    edited[1]!.sealedAt = '2025-01-01T00:00:00.000Z';
    const editedFile = writeWitness('edited-witness.jsonl', edited);
    const caught = await verify(['--witness', editedFile, '--archive', ...files]);
    expect(caught.code).toBe(5);
    expect(caught.stdout).toMatch(
      new RegExp(`^FAILED at position ${edited[1]!.fromPosition}: witness_mismatch: witness line 2 \\(range`),
    );
    expect((await verify(['--witness', editedFile])).code).toBe(0);

    // the line at the tombstone carrying another checkpoint hash: caught without the archive
    const other = lines.map((line) => ({ ...line }));
    other[atTombstone]!.checkpointHash = 'ab'.repeat(32);
    const otherFile = writeWitness('other-witness.jsonl', other);
    const forked = await verify(['--witness', otherFile]);
    expect(forked.code).toBe(5);
    expect(forked.stdout).toContain(
      `witness_mismatch: witness line ${atTombstone + 1} holds checkpoint ${'ab'.repeat(32)} ending at the tombstone's last position ${lastArchived}`,
    );

    // a ledger restarted after the drop, with its witness file and HTTP witness, starts and publishes on to both
    const server = await startWitnessServer({ dir: httpWitnessDir, port: 0 });
    try {
      const tcpPort = await freePort();
      const httpPort = await freePort();
      running = await spawnLedger(
        {
          DATABASE_URL: db.url,
          LEDGER_DATA_DIR: join(dir, 'data'),
          LEDGER_TCP_PORT: String(tcpPort),
          LEDGER_HTTP_PORT: String(httpPort),
          LEDGER_RECONCILIATION_ENABLED: 'false',
          LEDGER_CHECKPOINT_EVERY_MS: '50',
          LEDGER_WITNESS_FILE: witnessFile,
          LEDGER_WITNESS_URL: server.url,
          LEDGER_WITNESS_BACKOFF_MS: '50',
        },
        tcpPort,
      );
      // the archive's events after the last checkpoint get sealed and reach both witnesses
      await within(30_000, 'both witnesses to take a new checkpoint', async () => {
        const grown =
          witnessLines(witnessFile).length > lines.length && witnessLines(server.file).length > lines.length;
        return grown || undefined;
      });
      await running.stop();
      running = undefined;
    } finally {
      await server.close();
    }
    for (const file of [witnessFile, server.file]) {
      const after = await verify(['--witness', file, '--archive', ...files]);
      expect(after.stdout).toMatch(/^OK: /);
      expect(after.code).toBe(0);
    }
  }, 240_000);
});
