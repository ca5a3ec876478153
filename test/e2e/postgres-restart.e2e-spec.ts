import { chmodSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePort } from '../../apps/ledger/src/shared/free-port.js';
import { anApproval, anExecution } from '../support/fixtures.js';
import { spawnLedger, type LedgerProcess } from '../support/ledger-process.js';
import { startSeparatePostgres, type SeparatePostgres } from '../support/separate-postgres.js';
import { localBearer } from '../support/test-credentials.js';

/**
 * Issue 10, finding 7: PostgreSQL restarts under a running ledger (a clean stop, then a SIGKILL of the postmaster).
 * Meanwhile appends answer 503 EVENT_STORE.UNAVAILABLE and /health (readiness) 503; afterwards, without restarting
 * the ledger, appends are served again, /health is 200 and the read models, the reconciliation processor and the
 * checkpoint sealer catch up.
 */
describe('PostgreSQL restarts under a running ledger', () => {
  let server: SeparatePostgres;
  let ledger: LedgerProcess;
  let httpPort: number;
  let dataDir: string;
  let admin: pg.Pool;
  const approval = anApproval();

  const request = async (method: string, path: string, body?: unknown) => {
    try {
      const response = await fetch(`http://127.0.0.1:${httpPort}${path}`, {
        method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...localBearer(dataDir, method === 'GET' ? 'security' : 'gateway'),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await response.text();
      return { status: response.status, body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
    } catch (error) {
      return { status: 0, body: { error: String(error) } };
    }
  };
  const logExecution = () => request('POST', '/v1/executions', anExecution({ approvalId: approval.approvalId }));

  /** Polls until `check` passes (the ledger recovers by itself; a test never asserts how fast). */
  async function eventually<T>(what: string, probe: () => Promise<T>, check: (value: T) => boolean): Promise<T> {
    let last: T | undefined;
    for (let i = 0; i < 300; i++) {
      last = await probe();
      if (check(last)) return last;
      await sleep(100);
    }
    throw new Error(`${what}: still ${JSON.stringify(last)} after 30 s\n${ledger.output().slice(-3000)}`);
  }

  const lastSealed = async () =>
    BigInt(
      (
        await admin.query<{ p: string | null }>(
          `SELECT max((data->>'toPosition')::bigint)::text AS p FROM ledger.events WHERE type = 'CheckpointSealed'`,
        )
      ).rows[0]!.p ?? '0',
    );

  beforeAll(async () => {
    server = await startSeparatePostgres();
    admin = new pg.Pool({ connectionString: server.url, max: 1 });
    admin.on('error', () => undefined);
    dataDir = mkdtempSync(join(tmpdir(), 'ledger-pg-restart-'));
    const tcpPort = await freePort();
    httpPort = await freePort();
    ledger = await spawnLedger(
      {
        DATABASE_URL: server.url,
        LEDGER_DATA_DIR: dataDir,
        LEDGER_TCP_PORT: String(tcpPort),
        LEDGER_HTTP_PORT: String(httpPort),
        LEDGER_CHECKPOINT_EVERY_EVENTS: '2',
        LEDGER_CHECKPOINT_EVERY_MS: '200',
      },
      tcpPort,
    );
    // (The HTTP port opens just after the TCP one.)
    await eventually(
      'the first approval',
      () => request('POST', '/v1/approvals', approval),
      (r) => r.status === 201,
    );
  });

  afterAll(async () => {
    await ledger?.stop();
    await admin?.end();
    await server?.remove();
    rmSync(dataDir, { recursive: true, force: true });
  });

  for (const how of ['stop', 'kill9'] as const) {
    it(`recovers by itself after ${how === 'stop' ? 'a clean stop' : 'SIGKILL of the postmaster'} and start`, async () => {
      // Given a ledger serving appends.
      expect((await logExecution()).status).toBe(201);
      await eventually(
        '/health before',
        () => request('GET', '/health'),
        (r) => r.status === 200,
      );

      // When PostgreSQL goes down, appends answer 503 EVENT_STORE.UNAVAILABLE and readiness says so.
      await (how === 'stop' ? server.stop() : server.kill9());
      const down = await logExecution();
      expect(down).toMatchObject({ status: 503, body: { error: { code: 'EVENT_STORE.UNAVAILABLE' } } });
      await eventually(
        '/health while down',
        () => request('GET', '/health'),
        (r) => r.status === 503,
      );

      // When it is back, appends are served again without restarting the ledger.
      await server.start();
      const execution = anExecution({ approvalId: approval.approvalId });
      const served = await eventually(
        'append after restart',
        () => request('POST', '/v1/executions', execution),
        (r) => r.status === 201,
      );
      const position = BigInt(served.body.globalPosition as string);

      // Then readiness, the read models, reconciliation and the sealer catch up.
      await eventually(
        '/health after',
        () => request('GET', '/health'),
        (r) => r.status === 200,
      );
      await eventually(
        'the executions read model',
        () => request('GET', `/v1/executions/${execution.executionId}`),
        (r) => r.status === 200,
      );
      await eventually(
        'the reconciliation processor',
        () => request('GET', '/health'),
        (r) => BigInt(((r.body.reconciliation ?? {}) as { position?: string }).position ?? '0') >= position,
      );
      await eventually('the checkpoint sealer', lastSealed, (sealed) => sealed >= position);
      expect(ledger.child.exitCode).toBeNull();
    });
  }
});

describe('the embedded PostgreSQL dies under a running ledger', () => {
  it('is started again by the ledger, which serves appends again without a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ledger-embedded-restart-'));
    chmodSync(dataDir, 0o755); // as root the server runs as the OS user postgres
    const tcpPort = await freePort();
    const httpPort = await freePort();
    const ledger = await spawnLedger(
      {
        DATABASE_URL: '',
        LEDGER_DATA_DIR: dataDir,
        LEDGER_EMBEDDED_PG_PORT: String(await freePort()),
        LEDGER_TCP_PORT: String(tcpPort),
        LEDGER_HTTP_PORT: String(httpPort),
      },
      tcpPort,
    );
    const post = async (path: string, body: unknown) => {
      try {
        const response = await fetch(`http://127.0.0.1:${httpPort}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...localBearer(dataDir, 'gateway') },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(10_000),
        });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      } catch (error) {
        return { status: 0, body: { error: String(error) } };
      }
    };
    try {
      const approval = anApproval();
      let granted = await post('/v1/approvals', approval);
      for (let i = 0; i < 100 && granted.status === 0; i++) {
        await sleep(100);
        granted = await post('/v1/approvals', approval);
      }
      expect(granted.status).toBe(201);

      // When the postmaster is SIGKILLed.
      const pidFile = join(realpathSync(join(dataDir, 'pg')), 'postmaster.pid');
      const postmaster = Number.parseInt(readFileSync(pidFile, 'utf8').split('\n')[0]!, 10);
      process.kill(postmaster, 'SIGKILL');

      // Then appends answer 503 until the ledger has started it again, then 201; nothing else.
      const statuses: number[] = [];
      for (let i = 0; i < 300 && statuses.at(-1) !== 201; i++) {
        const answer = await post('/v1/executions', anExecution({ approvalId: approval.approvalId }));
        statuses.push(answer.status);
        if (answer.status === 503) expect(answer.body).toMatchObject({ error: { code: 'EVENT_STORE.UNAVAILABLE' } });
        if (answer.status !== 201) await sleep(100);
      }
      expect(statuses.at(-1)).toBe(201);
      expect(statuses.filter((status) => status !== 201 && status !== 503)).toEqual([]);
      expect(ledger.output()).toContain('the embedded PostgreSQL exited unexpectedly; starting it again');
      expect(ledger.child.exitCode).toBeNull();
    } finally {
      await ledger.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
