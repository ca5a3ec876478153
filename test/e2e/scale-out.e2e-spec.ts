import { MESSAGE_PATTERNS, type CommandAck, type LogExecutionRequest } from '@audit-ledger/domain';
import { localKeyFor } from '@audit-ledger/client';
import { verifyChain } from '@audit-ledger/integrity';
import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { firstValueFrom, timeout } from 'rxjs';
import { freePort } from '../../apps/ledger/src/shared/free-port.js';
import { EVENT_ROW_COLUMNS, toChained, type EventRow } from '../support/event-rows.js';
import { anApproval, anExecution } from '../support/fixtures.js';
import { spawnLedger, type LedgerProcess } from '../support/ledger-process.js';
import { natsServerBinary, startNatsServer, type SpawnedNatsServer } from '../support/nats-server.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { within } from '../support/within.js';

const VERDICT_TYPES = ['ExecutionReconciled', 'ReconciliationUnclear', 'MismatchDetected'];
const CLIENTS = 6;

// stderr, not console: Jest drops the console output of a file whose tests are all skipped.
const natsInstalled = natsServerBinary() !== undefined;
if (!natsInstalled) process.stderr.write('[skip] scale-out e2e: nats-server is not installed\n');

/**
 * Three ledger processes (the built `npm start` entry) on one database, fed through one NATS queue group by a gateway
 * that logs executions from several clients; the process that leads every worker is SIGKILLed mid-load.
 */
(natsInstalled ? describe : describe.skip)('several ledger processes behind one NATS queue group', () => {
  const token = randomBytes(16).toString('hex');
  let nats: SpawnedNatsServer;
  let database: TestDatabase;
  let dataDir: string;
  let pool: pg.Pool;
  const processes: LedgerProcess[] = [];

  beforeAll(async () => {
    // A NATS server of its own: no other test's ledger subscribes to these subjects.
    nats = await startNatsServer(`token: "${token}"`, { monitoring: true });
    database = await createTestDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'ledger-scale-out-'));
    chmodSync(dataDir, 0o755);
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    pool.on('error', () => undefined);
  });
  afterAll(async () => {
    for (const ledger of processes) await ledger.stop();
    await pool?.end();
    await nats?.stop();
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** A ledger process on the shared database and data directory (one token secret, one signing key). */
  async function startProcess(): Promise<{ ledger: LedgerProcess; httpPort: number }> {
    const httpPort = await freePort();
    const ledger = await spawnLedger(
      {
        DATABASE_URL: database.url,
        LEDGER_DATA_DIR: dataDir,
        LEDGER_TRANSPORT: 'nats',
        LEDGER_NATS_URL: nats.url,
        LEDGER_NATS_TOKEN: token,
        LEDGER_TCP_PORT: String(await freePort()),
        LEDGER_HTTP_PORT: String(httpPort),
        LEDGER_LEADER_RETRY_MS: '200',
      },
      httpPort, // with the NATS transport HTTP listens last, once the queue subscriptions are made
    );
    processes.push(ledger);
    return { ledger, httpPort };
  }

  /** Messages the NATS server delivered to the connections subscribed to `subject` (the ledger processes). */
  async function deliveredToLedgers(subject: string): Promise<number> {
    const response = await fetch(`${nats.monitorUrl}/connz?subs=1`);
    const { connections } = (await response.json()) as {
      connections: { out_msgs: number; subscriptions_list?: string[] }[];
    };
    const ledgers = connections.filter((c) => c.subscriptions_list?.includes(subject));
    expect(ledgers).toHaveLength(processes.length);
    return ledgers.reduce((sum, c) => sum + c.out_msgs, 0);
  }

  async function roles(httpPort: number): Promise<{ reconciler: string; projectionsActive: boolean[] }> {
    const response = await fetch(`http://127.0.0.1:${httpPort}/health`);
    const body = (await response.json()) as {
      reconciliation: { leadership?: { role: string } };
      projections: { projections: { active: boolean }[] };
    };
    return {
      reconciler: body.reconciliation.leadership?.role ?? 'none',
      projectionsActive: body.projections.projections.map((p) => p.active),
    };
  }

  it('given load through NATS, when the leading process is SIGKILLed, then nothing acknowledged changes and every worker ran once per event', async () => {
    const first = await startProcess();
    const gatewayKey = localKeyFor(dataDir, 'gateway');
    if (!gatewayKey) throw new Error(`no gateway key in ${dataDir}/credentials`);
    await within(20_000, 'the first process leading every worker', async () => {
      const { reconciler, projectionsActive } = await roles(first.httpPort);
      return reconciler === 'leader' && projectionsActive.every(Boolean) ? true : undefined;
    });
    const others = [await startProcess(), await startProcess()];
    for (const other of others) {
      const { reconciler, projectionsActive } = await roles(other.httpPort);
      expect(reconciler).toBe('standby');
      expect(projectionsActive.some(Boolean)).toBe(false);
    }

    const gateway = (): ClientProxy =>
      ClientProxyFactory.create({
        transport: Transport.NATS,
        options: { servers: [nats.url], token, headers: { authorization: `Bearer ${gatewayKey}` } },
      });
    const send = (client: ClientProxy, pattern: string, payload: unknown) =>
      firstValueFrom(client.send<CommandAck>(pattern, payload).pipe(timeout(5000)));

    const setup = gateway();
    const approvals = Array.from({ length: CLIENTS }, () => anApproval());
    for (const approval of approvals) await send(setup, MESSAGE_PATTERNS.grantApproval, approval);
    // Each command reached exactly one process (the NATS server counts what it delivered to each connection).
    expect(await deliveredToLedgers(MESSAGE_PATTERNS.grantApproval)).toBe(approvals.length);

    // Each client logs executions one after the other; one that gets no acknowledgement moves on to a new one.
    const attempted: LogExecutionRequest[] = [];
    const acked = new Map<string, CommandAck>();
    let stopped = false;
    const load = approvals.map(async (approval, n) => {
      const client = gateway();
      for (let i = 0; !stopped; i++) {
        const execution = anExecution({ approvalId: approval.approvalId, workerId: `w${n}`, output: `run ${i}` });
        attempted.push(execution);
        try {
          acked.set(execution.executionId, await send(client, MESSAGE_PATTERNS.logExecution, execution));
        } catch {
          // sent to the killed process: not acknowledged (a gateway would spool it, see below)
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      await client.close();
    });
    const acknowledged = (count: number) =>
      within(30_000, `${count} acknowledgements`, () => acked.size >= count || undefined);

    await acknowledged(150);
    await first.ledger.kill9();
    const atKill = acked.size;
    await acknowledged(atKill + 150);
    stopped = true;
    await Promise.all(load);

    // The survivors took over every worker: one leads the reconciler, and each projection is applied by one of them.
    await within(20_000, 'the survivors leading every worker', async () => {
      const survivors = await Promise.all(others.map((other) => roles(other.httpPort)));
      const leaders = survivors.filter((r) => r.reconciler === 'leader').length;
      const applied = survivors[0]!.projectionsActive.map((_, i) => survivors.filter((r) => r.projectionsActive[i]));
      return leaders === 1 && applied.every((by) => by.length === 1) ? true : undefined;
    });

    // What was acknowledged is stored once, at the acknowledged place.
    const rows = (
      await pool.query<EventRow & { global_position: string }>(
        `SELECT ${EVENT_ROW_COLUMNS}, global_position FROM ledger.events ORDER BY global_position`,
      )
    ).rows;
    const byId = new Map(rows.map((row) => [row.event_id, row]));
    for (const ack of acked.values()) {
      expect(byId.get(ack.eventId)).toMatchObject({
        stream_id: ack.streamId,
        stream_revision: String(ack.streamRevision),
        global_position: ack.globalPosition,
        hash: ack.hash,
      });
    }
    for (const approval of approvals) {
      const stream = rows.filter((row) => row.stream_id === `approval-${approval.approvalId}`).map(toChained);
      expect(verifyChain(stream)).toBeNull();
    }

    // A gateway resends what it never saw acknowledged (its spool does): each execution then exists exactly once.
    const resend = gateway();
    for (const execution of attempted) {
      const ack = await send(resend, MESSAGE_PATTERNS.logExecution, execution);
      const before = acked.get(execution.executionId);
      if (before) expect(ack).toEqual({ ...before, duplicate: true });
    }
    await Promise.all([setup.close(), resend.close()]);
    const logged = await pool.query<{ id: string; n: number }>(
      `SELECT data->>'executionId' AS id, count(*)::int AS n FROM ledger.events WHERE type = 'ExecutionLogged' GROUP BY 1`,
    );
    expect(logged.rows).toHaveLength(attempted.length);
    expect(logged.rows.filter((row) => row.n !== 1)).toEqual([]);

    // The reconciler judged every execution once, across the takeover.
    const verdicts = await within(30_000, `a verdict for each of ${attempted.length} executions`, async () => {
      const { rows: counted } = await pool.query<{ id: string; n: number }>(
        `SELECT data->>'executionId' AS id, count(*)::int AS n FROM ledger.events
          WHERE type = ANY($1) AND data->>'executionId' IS NOT NULL GROUP BY 1`,
        [VERDICT_TYPES],
      );
      return counted.length >= attempted.length ? counted : undefined;
    });
    expect(verdicts).toHaveLength(attempted.length);
    expect(verdicts.filter((row) => row.n !== 1)).toEqual([]);

    // Every projection reached the last event of the approvals' streams (the sealer's checkpoints may come after it,
    // outside every projection's filter), without skipping or applying anything twice.
    const last = (
      await pool.query<{ last: string }>(
        `SELECT max(global_position)::text AS last FROM ledger.events WHERE stream_id LIKE 'approval-%'`,
      )
    ).rows[0]!.last;
    let behind: { name: string; position: string }[] = [];
    await within(30_000, `every projection at position ${last}`, async () => {
      ({ rows: behind } = await pool.query<{ name: string; position: string }>(
        'SELECT name, position::text FROM read_models.projection_checkpoints WHERE position < $1::bigint',
        [last],
      ));
      return behind.length === 0 || undefined;
    }).catch((error: Error) => {
      throw new Error(`${error.message}; behind: ${JSON.stringify(behind)}`);
    });
    const projected = await pool.query<{ executions: number; ids: number; verdicts: number; daily: number }>(
      `SELECT (SELECT count(*)::int FROM read_models.executions) AS executions,
              (SELECT count(*)::int FROM read_models.executions WHERE execution_id = ANY($1)) AS ids,
              (SELECT count(*)::int FROM read_models.reconciliation_verdicts WHERE execution_id = ANY($1)) AS verdicts,
              (SELECT coalesce(sum(executions), 0)::int FROM read_models.daily_summaries) AS daily`,
      [attempted.map((execution) => execution.executionId)],
    );
    expect(projected.rows[0]).toEqual({
      executions: attempted.length,
      ids: attempted.length,
      verdicts: attempted.length,
      daily: attempted.length,
    });
  }, 120_000);
});
