import { startWitnessServer, verifyLedger, readPublicKeyRing, type RunningWitnessServer } from '@audit-ledger/evidence';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../../apps/ledger/src/shared/free-port.js';
import { anApproval } from '../support/fixtures.js';
import { LEDGER_MAIN, spawnLedger, type LedgerProcess } from '../support/ledger-process.js';
import { adminUrl, createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { within } from '../support/within.js';
import { localBearer } from '../support/test-credentials.js';

/**
 * Issue 10 finding 9: a database restored from an older dump must not start against a witness that holds newer
 * checkpoints (it used to start and append forked checkpoints to the witness), and starts only when an operator
 * acknowledges the rollback, which is then on record in the ledger and at the witness. Real ledger processes, a real
 * HTTP witness (`startWitnessServer`, what `ledger witness serve` runs) and a witness file.
 */
interface WitnessHealth {
  kind: string;
  status: string;
  confirmed: { checkpointHash: string; toPosition: string } | null;
}

describe('witness: a database behind its witness refuses to start', () => {
  let dir: string;
  let database: TestDatabase;
  let older: { url: string; name: string } | undefined;
  let server: RunningWitnessServer;
  let witnessFile: string;
  let env: Record<string, string>;
  let tcpPort: number;
  let httpPort: number;

  const withDatabase = (url: string) => ({ ...env, DATABASE_URL: url });
  const sql = async <R extends pg.QueryResultRow>(url: string, text: string, values?: unknown[]) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end();
    }
  };
  const lastPosition = async (url: string) =>
    BigInt(
      (
        await sql<{ p: string }>(
          url,
          "SELECT max(global_position)::text AS p FROM ledger.events WHERE stream_id <> 'checkpoints'",
        )
      )[0]!.p,
    );
  const health = async () => {
    const response = await fetch(`http://127.0.0.1:${httpPort}/health`);
    return (await response.json()) as { witnesses: WitnessHealth[] };
  };
  /** Until both witnesses confirmed a checkpoint covering every event appended so far. */
  const witnessed = (url: string) =>
    within(20_000, 'both witnesses to confirm the last events', async () => {
      const position = await lastPosition(url);
      const { witnesses } = await health();
      return witnesses.length === 2 &&
        witnesses.every((w) => w.status === 'ok' && w.confirmed && BigInt(w.confirmed.toPosition) >= position)
        ? witnesses
        : undefined;
    });
  const appendApprovals = async (count: number) => {
    for (let i = 0; i < count; i++) {
      const response = await fetch(`http://127.0.0.1:${httpPort}/v1/approvals`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...localBearer(join(dir, 'data'), 'gateway') },
        body: JSON.stringify(anApproval()),
      });
      expect(response.status).toBe(201);
    }
  };
  /** A ledger process expected to refuse: its exit code and output. */
  const refusedStart = (url: string, extra: Record<string, string> = {}) =>
    new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, [LEDGER_MAIN], {
        env: { ...process.env, LEDGER_LOG_LEVEL: 'warn', ...withDatabase(url), ...extra },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000); // one that starts is killed: code null
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, output });
      });
    });
  let running: LedgerProcess | undefined;
  /** A ledger process, ready when its HTTP port answers too. */
  const run = async (url: string, extra: Record<string, string> = {}): Promise<LedgerProcess> => {
    running = await spawnLedger({ ...withDatabase(url), ...extra }, tcpPort);
    await within(20_000, 'the HTTP port', () =>
      health().then(
        () => true,
        () => undefined,
      ),
    );
    return running;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-witness-rollback-'));
    database = await createTestDatabase();
    server = await startWitnessServer({ dir: join(dir, 'http-witness'), port: 0 });
    witnessFile = join(dir, 'witness.jsonl');
    tcpPort = await freePort();
    httpPort = await freePort();
    env = {
      LEDGER_DATA_DIR: join(dir, 'data'),
      LEDGER_TCP_PORT: String(tcpPort),
      LEDGER_HTTP_PORT: String(httpPort),
      LEDGER_RECONCILIATION_ENABLED: 'false',
      LEDGER_CHECKPOINT_EVERY_MS: '50',
      LEDGER_WITNESS_FILE: witnessFile,
      LEDGER_WITNESS_URL: server.url,
      LEDGER_WITNESS_BACKOFF_MS: '50',
    };
  }, 60_000);

  afterAll(async () => {
    await running?.stop();
    await server?.close();
    if (older) await sql(adminUrl(), `DROP DATABASE IF EXISTS ${older.name} WITH (FORCE)`);
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to start on an older copy, starts when the rollback is acknowledged, and records it', async () => {
    // given a ledger whose checkpoints reach both witnesses, and a copy of its database taken then (the "dump")
    let ledger = await run(database.url);
    await appendApprovals(3);
    await witnessed(database.url);
    await ledger.stop();
    expect(statSync(witnessFile).mode & 0o777).toBe(0o600);
    const olderName = `${database.name}_older`;
    await sql(adminUrl(), `CREATE DATABASE ${olderName} TEMPLATE ${database.name}`);
    const url = new URL(database.url);
    url.pathname = `/${olderName}`;
    older = { url: url.toString(), name: olderName };

    // …and the ledger running on, its newer checkpoints witnessed
    ledger = await run(database.url);
    await appendApprovals(3);
    const [newer] = await witnessed(database.url);
    await ledger.stop();
    const witnessHead = newer!.confirmed!;
    const fileBefore = readFileSync(witnessFile, 'utf8');
    const serverFileBefore = readFileSync(server.file, 'utf8');
    const olderEvents = await sql<{ n: string }>(older.url, 'SELECT count(*)::text AS n FROM ledger.events');

    // when the ledger starts on the older copy, it refuses: loudly, precisely, and forks nothing
    const refused = await refusedStart(older.url);
    expect(refused.code).toBe(1);
    expect(refused.output).toContain('refusing to start');
    expect(refused.output).toContain('BEHIND');
    expect(refused.output).toContain(witnessHead.checkpointHash);
    expect(refused.output).toContain(`LEDGER_ACKNOWLEDGE_ROLLBACK=${witnessHead.checkpointHash}`);
    expect(readFileSync(witnessFile, 'utf8')).toBe(fileBefore);
    expect(readFileSync(server.file, 'utf8')).toBe(serverFileBefore);
    expect(await sql(older.url, 'SELECT count(*)::text AS n FROM ledger.events')).toEqual(olderEvents);
    const latest = (await (await fetch(`${server.url}/checkpoints/latest`)).json()) as { head: unknown };
    expect(latest.head).toEqual(witnessHead);

    // …also when the acknowledgement names something else than the witness's head
    const wrong = await refusedStart(older.url, { LEDGER_ACKNOWLEDGE_ROLLBACK: '1' });
    expect(wrong.code).toBe(1);
    expect(wrong.output).toContain('LEDGER_ACKNOWLEDGE_ROLLBACK=1 names neither');
    expect(await sql(older.url, 'SELECT count(*)::text AS n FROM ledger.events')).toEqual(olderEvents);

    // when the operator acknowledges the rollback, it starts, the acknowledgement is an event, the witnesses know it
    ledger = await run(older.url, {
      LEDGER_ACKNOWLEDGE_ROLLBACK: witnessHead.checkpointHash,
      LEDGER_ACTOR: 'ops:alice',
    });
    const recorded = await sql<{
      type: string;
      data: { acknowledgement: { abandoned: unknown; acknowledgedBy: string } };
    }>(
      older.url,
      "SELECT type, data FROM ledger.events WHERE stream_id = 'integrity-rollbacks' ORDER BY stream_revision",
    );
    // one event per abandoned head (both witnesses held the same one)
    expect(recorded.map((row) => row.type)).toEqual(['RollbackAcknowledged']);
    expect(recorded[0]!.data.acknowledgement).toMatchObject({ abandoned: witnessHead, acknowledgedBy: 'ops:alice' });
    await appendApprovals(2);
    await witnessed(older.url);
    await ledger.stop();
    const fileLines = readFileSync(witnessFile, 'utf8').trim().split('\n');
    expect(fileLines.some((line) => line.startsWith('{"rollbackAcknowledged":'))).toBe(true);
    expect(readFileSync(witnessFile, 'utf8').startsWith(fileBefore)).toBe(true); // appended, never rewritten

    // then the older database verifies against the witness's current branch (the file and the server's log)
    const keys = readPublicKeyRing(join(dir, 'data', 'keys'));
    for (const file of [witnessFile, server.file]) {
      const report = await verifyLedger({ databaseUrl: older.url, keys, witnessFile: file });
      expect({ ok: report.ok, problems: report.problems }).toEqual({ ok: true, problems: [] });
    }
    // …it starts again without the flag…
    ledger = await run(older.url);
    await ledger.stop();
    // …and the database it was rolled back from now has another history than the witnesses: refused as well
    const forked = await refusedStart(database.url);
    expect(forked.code).toBe(1);
    expect(forked.output).toMatch(/refusing to start: the database (is BEHIND|has a DIFFERENT HISTORY)/);
  }, 180_000);
});
