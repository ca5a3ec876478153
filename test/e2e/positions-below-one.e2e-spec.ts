import { bundleContentHash, chainHash, verifyEvidenceBundle, type EvidenceBundle } from '@audit-ledger/integrity';
import { type RunningLedger } from '@audit-ledger/ledger';
import { resolveIntegrityKeys, verifyLedger, type IntegrityKeys } from '@audit-ledger/evidence';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startTestLedger } from '../support/ledger-app.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { EVENT_ROW_COLUMNS, insertEventRowAt, toChained, type EventRow } from '../support/event-rows.js';
import { runLedgerBin } from '../../apps/cli/test/support/run-bin.js';
import { allRolesHeaders } from '../support/test-credentials.js';

/**
 * Issue 10, finding 4: rows below global position 1 (written with OVERRIDING SYSTEM VALUE, around the sequence) on a
 * database that predates the constraint are counted and named by `ledger verify`, with and without a witness; the
 * read API and evidence export do not serve them; an evidence bundle holding one fails; and after the migration
 * ledger_writer can no longer insert one.
 */
describe('global positions below 1', () => {
  let database: TestDatabase;
  let admin: pg.Pool;
  let ledger: RunningLedger;
  let dir: string;
  let keys: IntegrityKeys;
  let witnessFile: string;
  const forgedStream = `approval-${randomUUID()}`;
  let genuineStream = '';
  let genuineEvents = 0;

  const http = async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${ledger.httpPort}${path}`, {
      headers: await allRolesHeaders(ledger),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-positions-'));
    witnessFile = join(dir, 'witness.jsonl');
    writeFileSync(witnessFile, '');
    keys = resolveIntegrityKeys({ dataDir: dir });
    database = await createTestDatabase();
    admin = new pg.Pool({ connectionString: database.url, max: 2 });
    admin.on('error', () => undefined);
  });

  afterAll(async () => {
    await ledger?.close();
    await admin?.end();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('are named by verify after the upgrade, not served, and refused to ledger_writer from then on', async () => {
    // Given genuine events appended by the ledger, and two validly hashed events inserted below position 1.
    ledger = await startTestLedger(database.url, {
      reconciliationEnabled: false,
      checkpointsEnabled: false,
      dataDir: dir,
    });
    const approval = anApproval();
    genuineStream = `approval-${approval.approvalId}`;
    const post = async (path: string, body: unknown) =>
      fetch(`http://127.0.0.1:${ledger.httpPort}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(await allRolesHeaders(ledger)) },
        body: JSON.stringify(body),
      });
    expect((await post('/v1/approvals', approval)).status).toBe(201);
    expect((await post('/v1/executions', anExecution({ approvalId: approval.approvalId }))).status).toBe(201);
    await ledger.close();
    // Back to before migration 3 (migration 5's partitions stay: the constraint is the first partition's then).
    await admin.query('ALTER TABLE ledger.events_p000001 DROP CONSTRAINT IF EXISTS events_global_position_from_1');
    await admin.query('DELETE FROM ledger.ledger_migrations WHERE version = 3');
    const genuine = (
      await admin.query<EventRow>(
        `SELECT ${EVENT_ROW_COLUMNS} FROM ledger.events WHERE stream_id = $1 ORDER BY stream_revision`,
        [genuineStream],
      )
    ).rows;
    genuineEvents = Number(
      (await admin.query<{ n: string }>('SELECT count(*)::text AS n FROM ledger.events')).rows[0]!.n,
    );
    let prev = '0'.repeat(64);
    const forged: EventRow[] = genuine.map((row) => {
      const event = { ...row, event_id: randomUUID(), stream_id: forgedStream };
      const hash = chainHash(prev, toChained(event));
      const chained = { ...event, prev_hash: prev, hash };
      prev = hash;
      return chained;
    });
    await insertEventRowAt(admin, -5, forged[0]!);
    await insertEventRowAt(admin, 0, forged[1]!);

    // When the ledger starts on it (the migration must not fail on the rows already there).
    ledger = await startTestLedger(database.url, { reconciliationEnabled: false, dataDir: dir, witnessFile });

    // Then verify counts and names them, with and without the witness.
    for (const extra of [{}, { witnessFile }]) {
      const report = await verifyLedger({ databaseUrl: database.url, keys: keys.ring, ...extra });
      expect(report.ok).toBe(false);
      expect(report.eventsChecked).toBe(genuineEvents + 2);
      expect(report.problems.filter((problem) => problem.kind === 'invalid_position')).toEqual([
        expect.objectContaining({ position: '-5', streamId: forgedStream }),
        expect.objectContaining({ position: '0', streamId: forgedStream }),
      ]);
      expect(report.firstProblem).toMatchObject({ kind: 'invalid_position', position: '-5' });
    }
    // The same through the CLI, as an operator runs it (exit 5, the first bad position named).
    for (const extra of [[], ['--witness', witnessFile]]) {
      const cli = await runLedgerBin(
        ['verify', '--database-url', database.url, '--keys-dir', join(dir, 'keys'), ...extra],
        {
          cwd: dir,
        },
      );
      expect(cli.code).toBe(5);
      expect(cli.stdout).toContain('FAILED at position -5: invalid_position');
      expect(cli.stdout).toContain('also at 0: invalid_position');
    }
    const oneStream = await verifyLedger({ databaseUrl: database.url, keys: keys.ring, stream: forgedStream });
    expect(oneStream.problems).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'invalid_position', position: '-5' })]),
    );

    // And the read API and evidence export do not serve them.
    expect((await http(`/v1/streams/${forgedStream}`)).status).toBe(404);
    expect((await http(`/v1/evidence?streamId=${forgedStream}`)).status).toBe(404);
    const range = (await http('/v1/evidence?from=0&to=10')).body as { events?: { globalPosition: string }[] };
    for (const event of range.events ?? []) expect(BigInt(event.globalPosition)).toBeGreaterThanOrEqual(1n);

    // And a bundle carrying an event at position 0 fails verify-bundle.
    const bundle = (await http(`/v1/evidence?streamId=${genuineStream}`)).body as EvidenceBundle;
    expect(verifyEvidenceBundle(bundle).ok).toBe(true);
    const moved = structuredClone(bundle);
    moved.events[0]!.globalPosition = '0';
    moved.manifest.contentHash = bundleContentHash(moved);
    const report = verifyEvidenceBundle(moved);
    expect(report.ok).toBe(false);
    expect(report.problems[0]).toMatchObject({ kind: 'invalid_position', position: '0' });
    const bundleFile = join(dir, 'moved.json');
    writeFileSync(bundleFile, JSON.stringify(moved));
    const cli = await runLedgerBin(['verify-bundle', bundleFile], { cwd: dir });
    expect(cli.code).toBe(5);
    expect(cli.stdout).toContain('FAILED at position 0: invalid_position');

    // And ledger_writer can no longer insert below 1 (the constraint holds for new rows).
    const client = await admin.connect();
    try {
      await client.query('SET ROLE ledger_writer');
      const again = { ...forged[1]!, event_id: randomUUID(), stream_revision: '2' };
      for (const position of [0, -7]) {
        await expect(insertEventRowAt(client, position, again)).rejects.toMatchObject({
          code: '23514',
          constraint: 'events_global_position_from_1',
        });
      }
    } finally {
      await client.query('RESET ROLE').catch(() => undefined);
      client.release();
    }
  });
});
