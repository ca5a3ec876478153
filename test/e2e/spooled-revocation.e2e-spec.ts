import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort, type RunningLedger } from '../../apps/ledger/src/index.js';
import { LedgerClient, localKeyFor, silentLogger } from '../../libs/client/src/index.js';
import type { EventRow } from '../support/event-rows.js';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startTestLedger } from '../support/ledger-app.js';
import { localBearer } from '../support/test-credentials.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { within } from '../support/within.js';

const execFileAsync = promisify(execFile);
const cli = join(process.cwd(), 'apps/cli/bin/ledger.js');
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Answer {
  eventId?: string;
  duplicate?: boolean;
  error?: { code: string; message: string };
}

interface Replay {
  asOf: unknown;
  events: { type: string; occurredAt?: string; hashStatus: string }[];
  state: { status: string; revokedOccurredAt?: string; approvalTimeMs?: number };
}

/**
 * Issue 12 item 4: decisions are timed when they happened. A gateway's client keeps a revocation and then an
 * execution in its spool while the ledger is down; both are recorded after the outage, in that order, with the
 * drain's time as their recording time. The execution started after the revocation happened, so it is
 * `approval_revoked` (before: the drain time was the revocation's time, and the execution a MATCH).
 */
describe('a revocation spooled during an outage, then an execution', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let tcpPort: number;
  let ledger: RunningLedger | undefined;
  let client: LedgerClient;
  const dataDir = mkdtempSync(join(tmpdir(), 'ledger-spooled-revocation-'));
  const spoolDir = mkdtempSync(join(tmpdir(), 'ledger-spooled-revocation-spool-'));
  const approvalId = `A-${randomUUID()}`;
  const stream = `approval-${approvalId}`;
  const workerId = `w-${randomUUID()}`;
  /** The gateway key the ledger's first start wrote into `dataDir` (every client and command presents it). */
  let gatewayKey = '';
  /** The CLI finds its key for each command's role in the ledger's local credentials file. */
  const run = (file: string, args: string[]) =>
    execFileAsync(file, args, { env: { ...process.env, LEDGER_API_KEY: '', LEDGER_DATA_DIR: dataDir } });
  /** Every spool file's content while the outage lasted. */
  let spooledDuringOutage = '';
  let grantedAt = '';
  let revokedBeforeExecution = '';
  let executionStartedAt = '';

  const start = async () => {
    ledger = await startTestLedger(database.url, { dataDir, tcpPort, reconciliationEnabled: true });
  };
  const eventsOf = async () =>
    (await pool.query<EventRow>('SELECT * FROM ledger.events WHERE stream_id = $1 ORDER BY stream_revision', [stream]))
      .rows;
  const get = async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${ledger!.httpPort}${path}`, {
      headers: localBearer(dataDir, 'security'),
    });
    return { status: response.status, body: (await response.json()) as unknown };
  };

  beforeAll(async () => {
    database = await createTestDatabase('spooled_revocation');
    pool = new pg.Pool({ connectionString: database.url, max: 1 });
    tcpPort = await freePort();
    await start();
    gatewayKey = localKeyFor(dataDir, 'gateway') ?? '';
    expect(gatewayKey).not.toBe('');
    // The spool never holds the key: the drain after the outage presents the client's own.
    client = new LedgerClient({
      host: '127.0.0.1',
      port: tcpPort,
      credential: gatewayKey,
      spoolDir,
      backgroundDrain: false,
      requestTimeoutMs: 2_000,
      logger: silentLogger,
    });

    // Before the outage: the gateway asked a human 90 s before the grant, and the grant is recorded.
    grantedAt = new Date().toISOString();
    const requestedAt = new Date(Date.parse(grantedAt) - 90_000).toISOString();
    const granted = await client.grantApproval(
      anApproval({
        approvalId,
        instruction: 'restart the api service',
        approvedCommands: ['systemctl restart api'],
        riskLevel: 'moderate',
        requestedBy: { workerId },
        requestedAt,
        occurredAt: grantedAt,
      }),
    );
    expect(granted.status).toBe('acknowledged');

    // The outage: the revocation, then (later, by the clock) the execution, both spooled.
    await ledger!.close();
    ledger = undefined;
    await pause(5);
    expect(await client.revokeApproval({ approvalId, by: 'oncall@example.com', reason: 'incident' })).toEqual(
      expect.objectContaining({ status: 'spooled' }),
    );
    await pause(5);
    revokedBeforeExecution = new Date().toISOString();
    await pause(5);
    executionStartedAt = new Date().toISOString();
    const execution = anExecution({
      approvalId,
      workerId,
      command: 'systemctl restart api',
      startedAt: executionStartedAt,
      finishedAt: executionStartedAt,
    });
    expect(await client.logExecution(execution)).toEqual(expect.objectContaining({ status: 'spooled' }));
    await pause(20); // the drain happens visibly later than both
    spooledDuringOutage = readdirSync(spoolDir)
      .filter((name) => statSync(join(spoolDir, name)).isFile())
      .map((name) => readFileSync(join(spoolDir, name), 'utf8'))
      .join('\n');

    // The ledger is back, reconciliation on; the spool is drained.
    await start();
    expect(await client.drainSpool()).toEqual({ sent: 2, rejected: 0, conflicts: 0, remaining: 0 });
  });

  afterAll(async () => {
    await client?.close();
    await ledger?.close();
    await pool?.end();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(spoolDir, { recursive: true, force: true });
  });

  it('keeps no credential in the spool: the drain after the outage presented a key of its own', () => {
    expect(spooledDuringOutage).toContain(approvalId);
    expect(spooledDuringOutage).not.toContain(gatewayKey);
  });

  it('records the revocation with when it happened beside when the ledger recorded it', async () => {
    const revocation = (await eventsOf()).find((row) => row.type === 'ApprovalRevoked')!;
    const occurredAt = revocation.data.occurredAt as string;
    const recordedAt = revocation.metadata.recordedAt as string;
    expect(occurredAt < revokedBeforeExecution).toBe(true);
    expect(recordedAt > executionStartedAt).toBe(true);
    expect(revocation.data.revokedAt).toBe(recordedAt);
  });

  it('judges the later execution approval_revoked, though both were recorded after the outage', async () => {
    const verdict = await within(10_000, `a verdict in ${stream}`, async () =>
      (await eventsOf()).find((row) =>
        ['MismatchDetected', 'ExecutionReconciled', 'ReconciliationUnclear'].includes(row.type),
      ),
    );
    expect(verdict.type).toBe('MismatchDetected');
    expect(verdict.data).toMatchObject({ kind: 'approval_revoked', severity: 'high' });
  });

  it('reports how long the human took to approve, on the approval and in the summaries', async () => {
    const approval = await within(10_000, 'the approval row', async () => {
      const { status, body } = await get(`/v1/approvals/${approvalId}`);
      return status === 200 ? (body as Record<string, unknown>) : undefined;
    });
    expect(approval).toMatchObject({ approvalTimeMs: 90_000, grantedOccurredAt: grantedAt });
    for (const exact of ['false', 'true']) {
      const { body } = await get(`/v1/summaries?groupBy=worker&bucket=day&workerId=${workerId}&exact=${exact}`);
      const items = (body as { items: Record<string, unknown>[] }).items;
      expect(items.filter((item) => item.approvalsTimed)).toEqual([
        expect.objectContaining({ worker: workerId, approvalsTimed: 1, approvalTimeMs: 90_000 }),
      ]);
    }
  });

  it('replays as the ledger knew it at a time (the revocation not recorded yet) and as things had happened (revoked)', async () => {
    const at = encodeURIComponent(revokedBeforeExecution);
    const recorded = (await get(`/v1/streams/${stream}/events?asOf=${at}`)).body as Replay;
    expect(recorded.events.map((e) => e.type)).toEqual(['ApprovalGranted']);
    expect(recorded.state.status).toBe('granted');

    const occurred = (await get(`/v1/streams/${stream}/events?asOf=${at}&by=occurred`)).body as Replay;
    expect(occurred.asOf).toEqual({ time: revokedBeforeExecution, by: 'occurred' });
    expect(occurred.events.map((e) => e.type)).toEqual(['ApprovalGranted', 'ApprovalRevoked']);
    expect(occurred.events.every((e) => e.hashStatus === 'ok')).toBe(true);
    expect(occurred.state).toMatchObject({ status: 'revoked', approvalTimeMs: 90_000 });

    const { stdout } = await run(process.execPath, [
      cli,
      '--http-port',
      String(ledger!.httpPort),
      'replay',
      'approval',
      approvalId,
      '--as-of',
      revokedBeforeExecution,
      '--by',
      'occurred',
    ]);
    expect(stdout).toContain('(as things happened): 2 events');
    expect(stdout).toContain('state: revoked');
  });

  it('given a revocation spooled by another client and drained after the execution was judged MATCH, then the execution becomes approval_revoked', async () => {
    const late = `A-${randomUUID()}`;
    const lateStream = `approval-${late}`;
    const adminSpool = mkdtempSync(join(tmpdir(), 'ledger-late-revocation-spool-'));
    const adminOn = (port: number) =>
      new LedgerClient({
        host: '127.0.0.1',
        port,
        credential: gatewayKey,
        spoolDir: adminSpool,
        backgroundDrain: false,
        logger: silentLogger,
      });
    const rowsOf = async () =>
      (
        await pool.query<EventRow>('SELECT * FROM ledger.events WHERE stream_id = $1 ORDER BY stream_revision', [
          lateStream,
        ])
      ).rows;
    try {
      const granted = await client.grantApproval(
        anApproval({
          approvalId: late,
          instruction: 'restart the api service',
          approvedCommands: ['systemctl restart api'],
        }),
      );
      expect(granted.status).toBe('acknowledged');
      // The admin's console cannot reach the ledger: its revocation waits in its spool.
      const cutOff = adminOn(await freePort());
      expect(await cutOff.revokeApproval({ approvalId: late, by: 'oncall@example.com', reason: 'incident' })).toEqual(
        expect.objectContaining({ status: 'spooled' }),
      );
      await cutOff.close();
      await pause(5);
      // The gateway's execution, started after the revocation happened, is recorded and judged first.
      const started = new Date().toISOString();
      const execution = anExecution({
        approvalId: late,
        command: 'systemctl restart api',
        startedAt: started,
        finishedAt: started,
      });
      expect((await client.logExecution(execution)).status).toBe('acknowledged');
      await within(10_000, 'the MATCH verdict', async () =>
        (await rowsOf()).find((row) => row.type === 'ExecutionReconciled'),
      );

      const admin = adminOn(tcpPort);
      expect(await admin.drainSpool()).toEqual({ sent: 1, rejected: 0, conflicts: 0, remaining: 0 });
      await admin.close();

      const revised = await within(10_000, 'the approval_revoked verdict', async () =>
        (await rowsOf()).find((row) => row.type === 'MismatchDetected'),
      );
      expect(revised.data).toMatchObject({ kind: 'approval_revoked', executionId: execution.executionId });
      const verdict = await within(10_000, 'the execution row judged mismatch', async () => {
        const { body } = await get(`/v1/executions/${execution.executionId}`);
        const item = body as { reconciliationVerdict?: string };
        return item.reconciliationVerdict === 'mismatch' ? item : undefined;
      });
      expect(verdict.reconciliationVerdict).toBe('mismatch');
    } finally {
      rmSync(adminSpool, { recursive: true, force: true });
    }
  });

  it('refuses an occurredAt beyond the clock-skew bound with 400 VALIDATION.CLOCK_SKEW; a retry with another or no occurredAt is the same decision', async () => {
    const other = anApproval({ occurredAt: new Date(Date.now() + 3_600_000).toISOString() });
    const post = (path: string, body: unknown) =>
      fetch(`http://127.0.0.1:${ledger!.httpPort}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...localBearer(dataDir, 'gateway') },
        body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as Answer }));

    const refused = await post('/v1/approvals', other);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'VALIDATION.CLOCK_SKEW' });
    expect(refused.body.error?.message).toContain('LEDGER_MAX_CLOCK_SKEW_MS');
    expect((await get(`/v1/streams/approval-${other.approvalId}`)).status).toBe(404);

    const { occurredAt: _tooLate, ...withoutTime } = other;
    expect((await post('/v1/approvals', withoutTime)).status).toBe(201);
    const revocation = { by: 'bob', reason: 'done', occurredAt: new Date(Date.now() - 60_000).toISOString() };
    const first = await post(`/v1/approvals/${other.approvalId}/revoke`, revocation);
    expect(first.body).toMatchObject({ duplicate: false });
    const retried = await post(`/v1/approvals/${other.approvalId}/revoke`, { by: 'bob', reason: 'done' });
    expect(retried.body).toMatchObject({ duplicate: true, eventId: first.body.eventId });
  });

  it('ledger grant and revoke take --requested-at and --occurred-at, recorded as given', async () => {
    const viaCli = `A-${randomUUID()}`;
    const cliSpool = mkdtempSync(join(tmpdir(), 'ledger-cli-occurred-spool-'));
    const flags = ['--port', String(tcpPort), '--spool-dir', cliSpool];
    try {
      await run(process.execPath, [
        cli,
        'grant',
        '--approval',
        viaCli,
        '--instruction',
        'restart the api service',
        '--risk',
        'moderate',
        '--approved-by',
        'alice',
        '--requested-at',
        '2026-11-23T09:58:00Z',
        '--occurred-at',
        '2026-11-23T10:00:00+00:00',
        ...flags,
      ]);
      await run(process.execPath, [
        cli,
        'revoke',
        '--approval',
        viaCli,
        '--by',
        'bob',
        '--reason',
        'done',
        '--occurred-at',
        '2026-11-23T10:04:00Z',
        ...flags,
      ]);
      const { rows } = await pool.query<EventRow>(
        'SELECT * FROM ledger.events WHERE stream_id = $1 ORDER BY stream_revision',
        [`approval-${viaCli}`],
      );
      expect(rows.map((row) => [row.type, row.data.occurredAt, row.data.requestedAt])).toEqual([
        ['ApprovalGranted', '2026-11-23T10:00:00.000Z', '2026-11-23T09:58:00.000Z'],
        ['ApprovalRevoked', '2026-11-23T10:04:00.000Z', undefined],
      ]);
    } finally {
      rmSync(cliSpool, { recursive: true, force: true });
    }
  });

  it('refuses by=occurred without a time, and an unknown by', async () => {
    expect((await get(`/v1/streams/${stream}/events?by=occurred`)).status).toBe(400);
    expect((await get(`/v1/streams/${stream}/events?asOf=1&by=occurred`)).status).toBe(400);
    expect((await get(`/v1/streams/${stream}/events?asOf=1&by=later`)).status).toBe(400);
  });
});
