import { PostgresEventStore } from '@audit-ledger/event-store';
import { chainHash, checkpointHash, MerkleTreeBuilder, sealCheckpoint } from '@audit-ledger/integrity';
import {
  appendToWitnessFile,
  CheckpointSealer,
  resolveIntegrityKeys,
  verifyLedger,
  type IntegrityKeys,
  type VerifyReport,
} from '@audit-ledger/evidence';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';
import { insertEventRowAt, toChained, type EventRow } from '../support/event-rows.js';

/**
 * Issue 6 acceptance: a PostgreSQL superuser switches the append-only trigger off and changes history; `ledger verify`
 * names the first bad position and what is wrong. One sealed ledger is built once; each case restores it first.
 */
type Row = EventRow & { global_position: string };

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('tamper evidence: ledger verify against a superuser', () => {
  let t: LedgerUnderTest;
  let admin: pg.Pool;
  let dir: string;
  let keys: IntegrityKeys;
  let witnessFile: string;
  const streams = { a: '', b: '', c: '' };
  let sealedTo = 0n;
  let hole = 0n;

  const sql = async <R extends pg.QueryResultRow = Row>(text: string, values?: unknown[]) =>
    (await admin.query<R>(text, values)).rows;
  const events = (streamId: string) =>
    sql('SELECT * FROM ledger.events WHERE stream_id = $1 ORDER BY stream_revision', [streamId]);
  const verify = (
    extra: { witnessFile?: string; inlineContentRows?: number; maxTrackedStreams?: number; from?: bigint } = {},
  ): Promise<VerifyReport> => verifyLedger({ databaseUrl: t.database.url, keys: keys.ring, ...extra });
  /** The same verification with the hash links checked in global order, and by the full (stream, revision) pass. */
  const verifyBothWays = async (extra: { from?: bigint } = {}) => {
    const [tracked, untracked] = [await verify(extra), await verify({ ...extra, maxTrackedStreams: 1 })];
    expect(untracked.problems).toEqual(tracked.problems);
    expect([untracked.eventsChecked, untracked.streamsChecked]).toEqual([
      tracked.eventsChecked,
      tracked.streamsChecked,
    ]);
    return tracked;
  };

  /** Rewrites rows as a superuser would: delete them, then insert the replacements at chosen positions. */
  async function replaceRows(remove: string[], insert: Row[]): Promise<void> {
    if (remove.length) await sql('DELETE FROM ledger.events WHERE global_position = ANY($1::bigint[])', [remove]);
    for (const row of insert) await insertEventRowAt(admin, row.global_position, row);
  }

  /** Recomputes a stream's hash chain from its rows as they now stand (what a careful forger does). */
  async function rechain(streamId: string): Promise<void> {
    let prev = '0'.repeat(64);
    for (const row of await events(streamId)) {
      const hash = chainHash(prev, toChained(row));
      await sql('UPDATE ledger.events SET prev_hash = $1, hash = $2 WHERE global_position = $3', [
        prev,
        hash,
        row.global_position,
      ]);
      prev = hash;
    }
  }

  async function waitUntilQuiet(): Promise<void> {
    let last = -1;
    for (;;) {
      const [{ n }] = (await sql<{ n: string }>('SELECT count(*)::text AS n FROM ledger.events')) as [{ n: string }];
      if (Number(n) === last) return;
      last = Number(n);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-tamper-'));
    witnessFile = join(dir, 'witness.jsonl');
    keys = resolveIntegrityKeys({ dataDir: dir });
    t = await startLedgerUnderTest();
    admin = new pg.Pool({ connectionString: t.database.url, max: 2 });
    const a = anApproval();
    const b = anApproval();
    const c = `A-${randomUUID()}`;
    streams.a = `approval-${a.approvalId}`;
    streams.b = `approval-${b.approvalId}`;
    streams.c = `approval-${c}`;
    expect((await t.http('POST', '/v1/approvals', a)).status).toBe(201);
    expect((await t.http('POST', `/v1/approvals/${c}/reject`, { by: 'bob', reason: 'no' })).status).toBe(201);
    // A rolled-back append leaves a hole in the positions; the checkpoint records it as absent.
    const [reserved] = await sql<{ p: string }>("SELECT nextval('ledger.events_global_position_seq')::text AS p");
    hole = BigInt(reserved!.p);
    expect((await t.http('POST', '/v1/executions', anExecution({ approvalId: a.approvalId }))).status).toBe(201);
    expect((await t.http('POST', '/v1/approvals', b)).status).toBe(201);
    expect((await t.http('POST', '/v1/executions', anExecution({ approvalId: b.approvalId }))).status).toBe(201);
    expect((await t.http('POST', '/v1/executions', anExecution({ approvalId: b.approvalId }))).status).toBe(201);
    await waitUntilQuiet();

    const store = await PostgresEventStore.connect({ connectionString: t.database.url, poolSize: 2, logger: silent });
    const sealer = new CheckpointSealer({
      store,
      keys,
      everyEvents: 1000,
      everyMs: 60_000,
      logger: silent,
    });
    const sealed = await sealer.sealNow();
    await appendToWitnessFile(witnessFile, sealed!);
    await store.close();
    expect(sealed).toMatchObject({ fromPosition: '1', absent: [[String(hole), String(hole)]] });
    sealedTo = BigInt(sealed!.toPosition);
    // After the checkpoint: protected by the hash chain only until the next one.
    expect((await t.http('POST', `/v1/approvals/${a.approvalId}/revoke`, { by: 'bob', reason: 'done' })).status).toBe(
      201,
    );
    await waitUntilQuiet();
    await t.ledger.close();
    await sql('CREATE TABLE ledger.events_pristine AS SELECT * FROM ledger.events');
  });

  beforeEach(async () => {
    await sql('ALTER TABLE ledger.events DISABLE TRIGGER events_append_only');
    await sql('DELETE FROM ledger.events');
    await sql('INSERT INTO ledger.events OVERRIDING SYSTEM VALUE SELECT * FROM ledger.events_pristine');
  });

  afterAll(async () => {
    await admin?.end();
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('verifies an untouched ledger, its checkpoint and the witness', async () => {
    const report = await verify({ witnessFile });
    expect(report).toMatchObject({
      ok: true,
      problems: [],
      checkpointsChecked: 1,
      rangesChecked: 1,
      sealedThrough: String(sealedTo),
      witnessCheckpoints: 1,
    });
    expect(report.unsealedEvents).toBeGreaterThanOrEqual(2); // the checkpoint itself and the revocation
  });

  it('(a) names an edited event', async () => {
    const [, execution] = await events(streams.a);
    await sql(
      `UPDATE ledger.events SET data = jsonb_set(data::jsonb, '{command}', '"rm -rf /"') WHERE global_position = $1`,
      [execution!.global_position],
    );
    const report = await verify();
    expect(report.firstProblem).toMatchObject({
      kind: 'edited',
      position: execution!.global_position,
      streamId: streams.a,
    });
  });

  it('(a) names an edited event when the content hashes are checked by the worker thread', async () => {
    const [, execution] = await events(streams.a);
    await sql(`UPDATE ledger.events SET data = jsonb_set(data::jsonb, '{exitCode}', '1') WHERE global_position = $1`, [
      execution!.global_position,
    ]);
    const report = await verify({ inlineContentRows: 0 });
    expect(report.firstProblem).toMatchObject({ kind: 'edited', position: execution!.global_position });
    expect(report.problems).toHaveLength(1);
  });

  it('(b) names a deleted event', async () => {
    const [, execution] = await events(streams.a);
    await replaceRows([execution!.global_position], []);
    expect((await verify()).firstProblem).toMatchObject({ kind: 'deleted', position: execution!.global_position });
  });

  it('(b) names a deleted event also when the streams outnumber those the global pass tracks', async () => {
    const [, execution] = await events(streams.a);
    await replaceRows([execution!.global_position], []);
    expect((await verifyBothWays()).firstProblem).toMatchObject({
      kind: 'deleted',
      position: execution!.global_position,
    });
  });

  it('names an event replaced with a consistent hash by the link its successor holds', async () => {
    const [granted, execution] = await events(streams.a);
    const replaced = { ...(granted!.data as Record<string, unknown>), approvedBy: 'mallory' };
    const hash = chainHash(granted!.prev_hash, {
      eventId: granted!.event_id,
      streamId: streams.a,
      streamRevision: 0,
      type: granted!.type,
      data: replaced,
      metadata: granted!.metadata,
    });
    await sql('UPDATE ledger.events SET data = $1, hash = $2 WHERE global_position = $3', [
      replaced,
      hash,
      granted!.global_position,
    ]);

    const whole = await verifyBothWays();
    expect(whole.firstProblem).toMatchObject({ kind: 'broken_link', position: granted!.global_position });
    expect(whole.problems).toHaveLength(1); // the sealed range's root is explained by it
    // A window that starts after the replaced event links its successor to it.
    const windowed = await verifyBothWays({ from: BigInt(execution!.global_position) });
    expect(windowed.firstProblem).toMatchObject({ kind: 'broken_link', position: granted!.global_position });
  });

  it('verifies an untouched ledger the same way with and without tracking the streams in global order', async () => {
    expect((await verifyBothWays()).ok).toBe(true);
    expect((await verifyBothWays({ from: 3n })).ok).toBe(true);
  });

  it('(c) names the first position of a deleted stream', async () => {
    const rows = await events(streams.b);
    await replaceRows(
      rows.map((row) => row.global_position),
      [],
    );
    expect((await verify()).firstProblem).toMatchObject({ kind: 'deleted', position: rows[0]!.global_position });
    const one = await verifyLedger({ databaseUrl: t.database.url, keys: keys.ring, stream: streams.b });
    expect(one.firstProblem).toMatchObject({ kind: 'missing_stream', streamId: streams.b });
  });

  it('(d) names two events of a stream that swapped places', async () => {
    const [granted, executed] = await events(streams.b);
    await replaceRows(
      [granted!.global_position, executed!.global_position],
      [
        { ...granted!, global_position: executed!.global_position },
        { ...executed!, global_position: granted!.global_position },
      ],
    );
    expect((await verifyBothWays()).firstProblem).toMatchObject({
      kind: 'reordered',
      position: granted!.global_position,
    });
  });

  it('(e) names a forged event inserted with a valid hash chain', async () => {
    const [rejected] = await events(streams.c);
    const forgedFields = {
      eventId: randomUUID(),
      streamId: streams.c,
      streamRevision: 1,
      type: 'ApprovalGranted',
      data: { approvalId: streams.c.slice('approval-'.length), approvedBy: 'mallory' },
      metadata: rejected!.metadata,
    };
    const forged: Row = {
      global_position: String(hole),
      event_id: forgedFields.eventId,
      stream_id: streams.c,
      stream_revision: '1',
      type: forgedFields.type,
      data: forgedFields.data,
      metadata: forgedFields.metadata,
      prev_hash: rejected!.hash,
      hash: chainHash(rejected!.hash, forgedFields),
    };
    await replaceRows([], [forged]);
    expect((await verify()).firstProblem).toMatchObject({ kind: 'inserted', position: String(hole) });
  });

  it('(f) catches an edit whose hash chain was rewritten by the checkpoint, and a re-signed one by the witness', async () => {
    const [granted] = await events(streams.b);
    await sql(
      `UPDATE ledger.events SET data = jsonb_set(data::jsonb, '{riskLevel}', '"critical"') WHERE global_position = $1`,
      [granted!.global_position],
    );
    await rechain(streams.b);
    const rewritten = await verify();
    expect(rewritten.problems).toEqual([
      expect.objectContaining({ kind: 'sealed_range_altered', position: '1', range: ['1', String(sealedTo)] }),
    ]);

    // A forger who also rewrites the checkpoint without the key breaks its signature…
    const [checkpointRow] = await events('checkpoints');
    const tree = new MerkleTreeBuilder();
    for (const row of await sql('SELECT * FROM ledger.events WHERE global_position <= $1 ORDER BY 1', [
      String(sealedTo),
    ])) {
      tree.push(Buffer.from(row.hash, 'hex'));
    }
    const unsigned = {
      ...(checkpointRow!.data as never as Record<string, unknown>),
      merkleRoot: tree.root().toString('hex'),
    };
    const rehashed = { ...unsigned, checkpointHash: checkpointHash(unsigned as never) };
    await sql('UPDATE ledger.events SET data = $1 WHERE global_position = $2', [
      rehashed,
      checkpointRow!.global_position,
    ]);
    await rechain('checkpoints');
    expect((await verify()).firstProblem).toMatchObject({ kind: 'bad_signature', position: '1' });

    // …and one who stole the key and re-signed it is still caught by the witness.
    const resigned = sealCheckpoint(rehashed as unknown as Parameters<typeof sealCheckpoint>[0], keys.signing);
    await sql('UPDATE ledger.events SET data = $1 WHERE global_position = $2', [
      resigned,
      checkpointRow!.global_position,
    ]);
    await rechain('checkpoints');
    expect((await verify()).ok).toBe(true);
    expect((await verify({ witnessFile })).firstProblem).toMatchObject({ kind: 'witness_mismatch', position: '1' });
  });

  it('the ledger verify command exits non-zero and names the position', async () => {
    const [, execution] = await events(streams.a);
    await sql(`UPDATE ledger.events SET data = jsonb_set(data::jsonb, '{exitCode}', '1') WHERE global_position = $1`, [
      execution!.global_position,
    ]);
    writeKeysDir();
    const run = promisify(execFile);
    const cli = join(process.cwd(), 'apps/cli/bin/ledger.js');
    const failed = await run(process.execPath, [cli, 'verify', '--database-url', t.database.url, '--keys-dir', keysDir])
      .then(() => null)
      .catch((error: { code: number; stdout: string }) => error);
    expect(failed?.code).toBe(5);
    expect(failed?.stdout).toContain(`FAILED at position ${execution!.global_position}: edited`);
    await sql('DELETE FROM ledger.events');
    await sql('INSERT INTO ledger.events OVERRIDING SYSTEM VALUE SELECT * FROM ledger.events_pristine');
    const ok = await run(process.execPath, [
      cli,
      'verify',
      '--json',
      '--witness',
      witnessFile,
      '--database-url',
      t.database.url,
      '--keys-dir',
      keysDir,
    ]);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, checkpointsChecked: 1, witnessCheckpoints: 1 });
  });

  let keysDir = '';
  function writeKeysDir(): void {
    // resolveIntegrityKeys generated dir/keys/signing.key and dir/keys/<keyId>.pub on first use.
    keysDir = join(dir, 'keys');
    expect(readFileSync(join(keysDir, `${keys.signing.keyId}.pub`), 'utf8')).toContain('PUBLIC KEY');
  }
});
