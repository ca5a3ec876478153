import type { ClientProxy } from '@nestjs/microservices';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { firstValueFrom } from 'rxjs';
import { MESSAGE_PATTERNS, type CommandAck } from '@audit-ledger/domain';
import { freePort } from '../../apps/ledger/src/index.js';
import { LedgerClient, localKeyFor, type ClientLogger } from '../../libs/client/src/index.js';
import { anApproval, anExecution } from '../support/fixtures.js';
import { tcpClientAs } from '../support/ledger-app.js';
import { spawnLedger, type LedgerProcess } from '../support/ledger-process.js';
import { localBearer } from '../support/test-credentials.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { within } from '../support/within.js';

/**
 * Issue 13 item 1: a secret sent over TCP, over HTTP and through the client's spool is nowhere: not in any table of
 * any schema (events, read models, checkpoints…), not in the spool files, not in the ledger's logs (at trace level)
 * or the client's, not in the exports. The ledger runs as its own process so its stdout is what is read.
 */
const SECRETS = {
  awsAccessKey: 'AKIAZ7QX3M4P2LRT5NWE',
  githubToken: 'ghp_R8mZ2qL7vT4nW9xK3pB6cF1hJ5sD0gY2aE7u',
  password: 'Hunter2-Correct-Horse-77',
  jwt: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJkZXBsb3ktYm90Iiwicm9sZSI6ImFkbWluIn0.Qm9ndXNTaWduYXR1cmVGb3JUZXN0c09ubHk',
  urlPassword: 'Pg5ecretW0rd9Q',
} as const;
const secretTexts = (label: string) => ({
  command: `AWS_ACCESS_KEY_ID=${SECRETS.awsAccessKey} curl -H "Authorization: Bearer ${SECRETS.jwt}" https://api.example.com/${label}`,
  output: `cloning with ${SECRETS.githubToken}\nlogin ok password=${SECRETS.password}\npsql postgres://app:${SECRETS.urlPassword}@db/app\n`,
  artifactPath: `/tmp/${label}-${SECRETS.githubToken}.log`,
});
/** Each secret whole and a 12-character piece of its middle. */
const needles = Object.values(SECRETS).flatMap((secret) => [
  secret,
  secret.slice(secret.length / 2 - 6, secret.length / 2 + 6),
]);
const leaksIn = (text: string) => needles.filter((needle) => text.includes(needle));

describe('secrets sent over TCP, HTTP and through the spool', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let ledger: LedgerProcess | undefined;
  let rpc: ClientProxy;
  let client: LedgerClient;
  let httpPort: number;
  const clientLog: string[] = [];
  /** Every spool file's content, read while the command waited in the spool (the drain compacts it away). */
  let spooledWhileDown = '';
  const spoolFilesText = () =>
    readdirSync(spoolDir)
      .filter((name) => statSync(join(spoolDir, name)).isFile())
      .map((name) => readFileSync(join(spoolDir, name), 'utf8'))
      .join('\n');
  const dataDir = mkdtempSync(join(tmpdir(), 'ledger-redaction-'));
  const spoolDir = mkdtempSync(join(tmpdir(), 'ledger-redaction-spool-'));
  const approvalId = `A-${randomUUID()}`;
  const workerId = `w-${randomUUID().slice(0, 8)}`;
  const executionIds = { tcp: randomUUID(), http: randomUUID(), spool: randomUUID() };
  const executionOver = (via: keyof typeof executionIds) => {
    const texts = secretTexts(via);
    return anExecution({
      executionId: executionIds[via],
      approvalId,
      workerId,
      command: texts.command,
      output: texts.output,
      artifacts: [{ path: texts.artifactPath, sha256: 'd'.repeat(64), bytes: 10 }],
    });
  };
  /** Commands as the gateway, reads as security, with the keys the ledger's first start wrote into `dataDir`. */
  const http = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`http://127.0.0.1:${httpPort}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...localBearer(dataDir, method === 'GET' ? 'security' : 'gateway'),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, text: await response.text() };
  };
  const capture: ClientLogger = {
    info: (fields, message) => clientLog.push(JSON.stringify({ fields, message })),
    warn: (fields, message) => clientLog.push(JSON.stringify({ fields, message })),
    error: (fields, message) => clientLog.push(JSON.stringify({ fields, message })),
  };

  beforeAll(async () => {
    database = await createTestDatabase('redaction');
    pool = new pg.Pool({ connectionString: database.url, max: 1 });
    const tcpPort = await freePort();
    httpPort = await freePort();
    const clientOptions = {
      host: '127.0.0.1',
      port: tcpPort,
      spoolDir,
      backgroundDrain: false,
      requestTimeoutMs: 2_000,
      logger: capture,
    };
    // The ledger is not running yet (it has issued no key either): the client spools.
    const spoolingClient = new LedgerClient(clientOptions);
    expect(await spoolingClient.logExecution(executionOver('spool'))).toEqual(
      expect.objectContaining({ status: 'spooled' }),
    );
    spooledWhileDown = spoolFilesText();
    await spoolingClient.close();

    ledger = await spawnLedger(
      {
        DATABASE_URL: database.url,
        LEDGER_DATA_DIR: dataDir,
        LEDGER_TCP_PORT: String(tcpPort),
        LEDGER_HTTP_PORT: String(httpPort),
        LEDGER_LOG_LEVEL: 'trace',
        LEDGER_TOKEN_HMAC_SECRET: 'redaction-e2e-secret-0123456789',
        LEDGER_CHECKPOINT_EVERY_MS: '100',
      },
      tcpPort,
    );
    await within(20_000, 'the HTTP port', () =>
      fetch(`http://127.0.0.1:${httpPort}/health`).then(
        () => true,
        () => undefined,
      ),
    );
    const gatewayKey = localKeyFor(dataDir, 'gateway');
    if (!gatewayKey) throw new Error(`no gateway key in ${dataDir}/credentials`);
    rpc = tcpClientAs(tcpPort, gatewayKey);
    // A client of the same spool (its redaction key included) with the gateway key drains what was spooled.
    client = new LedgerClient({ ...clientOptions, credential: gatewayKey });

    const grant = anApproval({
      approvalId,
      instruction: `deploy with token ${SECRETS.githubToken} and password=${SECRETS.password}`,
      approvedCommands: [secretTexts('grant').command],
      requestedBy: { workerId },
    });
    expect((await http('POST', '/v1/approvals', grant)).status).toBe(201);
    expect((await http('POST', '/v1/executions', executionOver('http'))).status).toBe(201);
    await firstValueFrom(rpc.send<CommandAck>(MESSAGE_PATTERNS.logExecution, executionOver('tcp')));
    expect(await client.drainSpool()).toEqual({ sent: 1, rejected: 0, conflicts: 0, remaining: 0 });
    // The read models have them all.
    await within(20_000, 'three executions in the read model', async () => {
      const { text } = await http('GET', `/v1/executions/export?format=json&workerId=${workerId}`);
      return (JSON.parse(text) as unknown[]).length === 3 ? true : undefined;
    });
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    rpc?.close();
    await ledger?.stop();
    await pool?.end();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(spoolDir, { recursive: true, force: true });
  });

  it('stores markers in place of every secret, with the rules that fired in the metadata', async () => {
    const { rows } = await pool.query<{ data: { command: string }; metadata: { redactions?: unknown[] } }>(
      `SELECT data, metadata FROM ledger.events WHERE type = 'ExecutionLogged' AND data->>'workerId' = $1`,
      [workerId],
    );
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      expect(row.data.command).toMatch(/^AWS_ACCESS_KEY_ID=\[REDACTED:aws-access-key:[0-9a-f]{8}\] curl -H/);
    }
    // Over TCP and HTTP the ledger redacted; through the spool the client did (the ledger found nothing left).
    const fired = rows.flatMap((row) => row.metadata.redactions ?? []);
    expect(fired).toEqual(expect.arrayContaining([{ field: 'command', rule: 'aws-access-key', count: 1 }]));
  });

  it('keeps the stored output digest on the original output, whoever redacted it', async () => {
    const { rows } = await pool.query<{ sha256: string; bytes: number }>(
      `SELECT data->'output'->>'sha256' AS sha256, (data->'output'->>'bytes')::int AS bytes
         FROM ledger.events WHERE type = 'ExecutionLogged' AND data->>'workerId' = $1`,
      [workerId],
    );
    const original = secretTexts('x').output;
    for (const row of rows) {
      expect(row).toEqual({
        sha256: createHash('sha256').update(original).digest('hex'),
        bytes: Buffer.byteLength(original),
      });
    }
  });

  it('is in no table of any schema (events, read models, checkpoints, everything)', async () => {
    const { rows: tables } = await pool.query<{ schema: string; name: string }>(
      `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
        WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`,
    );
    expect(tables.length).toBeGreaterThan(3);
    const leaks: string[] = [];
    for (const { schema, name } of tables) {
      const { rows } = await pool.query<{ row: string }>(`SELECT t::text AS row FROM "${schema}"."${name}" t`);
      for (const { row } of rows) for (const needle of leaksIn(row)) leaks.push(`${schema}.${name}: ${needle}`);
    }
    expect(leaks).toEqual([]);
  });

  it('is in no export: CSV, JSON, the stream read, the evidence bundle', async () => {
    const reads = [
      `/v1/executions/export?format=csv&workerId=${workerId}`,
      `/v1/executions/export?format=jsonl&workerId=${workerId}`,
      `/v1/streams/approval-${approvalId}/events`,
      `/v1/evidence?approvalId=${approvalId}`,
    ];
    for (const path of reads) {
      const { status, text } = await http('GET', path);
      expect({ path, status }).toEqual({ path, status: 200 });
      expect({ path, leaks: leaksIn(text) }).toEqual({ path, leaks: [] });
    }
  });

  it('is in no spool file and in no log line of the ledger (at trace level) or the client', async () => {
    expect(spooledWhileDown).toContain(executionIds.spool);
    expect(spooledWhileDown).toContain('[REDACTED:');
    expect(leaksIn(spooledWhileDown)).toEqual([]);
    expect(leaksIn(spoolFilesText())).toEqual([]);
    expect(ledger!.output()).not.toBe('');
    expect(leaksIn(ledger!.output())).toEqual([]);
    expect(leaksIn(clientLog.join('\n'))).toEqual([]);
  });
});
