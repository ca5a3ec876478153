import { MESSAGE_PATTERNS, type CommandAck, type LogExecutionRequest } from '@audit-ledger/domain';
import { verifyChain } from '@audit-ledger/integrity';
import { localKeyFor } from '@audit-ledger/client';
import type { ClientProxy } from '@nestjs/microservices';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { firstValueFrom, timeout } from 'rxjs';
import { freePort } from '../../apps/ledger/src/shared/free-port.js';
import { EVENT_ROW_COLUMNS, toChained, type EventRow } from '../support/event-rows.js';
import { anApproval, anExecution } from '../support/fixtures.js';
import { tcpClientAs } from '../support/ledger-app.js';
import { spawnLedger as spawnLedgerProcess } from '../support/ledger-process.js';
import { startSeparatePostgres } from '../support/separate-postgres.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

/** The gateway key each spawned ledger's first start wrote into its data directory, by the ledger's TCP port. */
const gatewayKeys = new Map<number, string>();

async function spawnLedger(env: Record<string, string>, tcpPort: number) {
  const ledger = await spawnLedgerProcess(env, tcpPort);
  const key = localKeyFor(env.LEDGER_DATA_DIR!, 'gateway');
  if (!key) throw new Error(`no gateway key in ${env.LEDGER_DATA_DIR}/credentials`);
  gatewayKeys.set(tcpPort, key);
  return ledger;
}

/** A TCP client presenting the gateway key of the ledger on `port`. */
function gatewayClient(port: number): ClientProxy {
  return tcpClientAs(port, gatewayKeys.get(port) ?? null);
}

async function sendAll(port: number, payloads: [string, unknown][]): Promise<CommandAck[]> {
  const client = gatewayClient(port);
  const acks: CommandAck[] = [];
  try {
    for (const [pattern, payload] of payloads) {
      acks.push(await firstValueFrom(client.send<CommandAck>(pattern, payload).pipe(timeout(5000))));
    }
  } finally {
    await client.close();
  }
  return acks;
}

/** The environment of a ledger on `databaseUrl` that listens on `tcpPort` (TCP) and a free port (HTTP). */
async function ledgerEnv(databaseUrl: string, dataDir: string, tcpPort: number): Promise<Record<string, string>> {
  return {
    DATABASE_URL: databaseUrl,
    LEDGER_DATA_DIR: dataDir,
    LEDGER_TCP_PORT: String(tcpPort),
    LEDGER_HTTP_PORT: String(await freePort()),
  };
}

/** Grants `count` approvals over TCP and returns their ids. */
async function grantApprovals(port: number, count: number): Promise<string[]> {
  const approvals = Array.from({ length: count }, () => anApproval());
  await sendAll(
    port,
    approvals.map((approval) => [MESSAGE_PATTERNS.grantApproval, approval]),
  );
  return approvals.map((approval) => approval.approvalId);
}

describe('kill -9 of the ledger while clients append', () => {
  let database: TestDatabase;
  let dataDir: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'ledger-crash-'));
    chmodSync(dataDir, 0o755); // the embedded server runs as the OS user postgres
  });
  afterAll(async () => {
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('given 8 clients appending, when the process is SIGKILLed, then after restart every acknowledged event is present and whole', async () => {
    const tcpPort = await freePort();
    const env = await ledgerEnv(database.url, dataDir, tcpPort);
    const ledger = await spawnLedger(env, tcpPort);
    const approvalIds = await grantApprovals(tcpPort, 8);

    const attempted: LogExecutionRequest[] = [];
    const acked: CommandAck[] = [];
    const clients = approvalIds.map(async (approvalId) => {
      const client = gatewayClient(tcpPort);
      try {
        for (let i = 0; i < 100_000; i++) {
          const execution = anExecution({ approvalId, command: `echo ${i}` });
          attempted.push(execution);
          acked.push(
            await firstValueFrom(client.send<CommandAck>(MESSAGE_PATTERNS.logExecution, execution).pipe(timeout(3000))),
          );
        }
      } catch {
        // the ledger died under this client: expected
      } finally {
        await client.close();
      }
    });
    while (acked.length < 400) await new Promise((resolve) => setTimeout(resolve, 10));
    await ledger.kill9();
    await Promise.all(clients);

    const restarted = await spawnLedger(env, tcpPort);
    try {
      const pool = new pg.Pool({ connectionString: database.url, max: 1 });
      const rows = (
        await pool.query<EventRow>(`SELECT ${EVENT_ROW_COLUMNS} FROM ledger.events ORDER BY stream_id, stream_revision`)
      ).rows;
      const stored = new Set(rows.map((row) => row.event_id));
      expect(acked.filter((ack) => !stored.has(ack.eventId))).toEqual([]);
      for (const approvalId of approvalIds) {
        const stream = rows.filter((row) => row.stream_id === `approval-${approvalId}`).map(toChained);
        expect(verifyChain(stream)).toBeNull();
      }

      // A gateway resends what it never saw acknowledged (the client's spool does this): each lands exactly once.
      await sendAll(
        tcpPort,
        attempted.map((execution) => [MESSAGE_PATTERNS.logExecution, execution]),
      );
      const counts = (
        await pool.query(
          `SELECT data->>'executionId' AS id, count(*)::int AS n FROM ledger.events WHERE type = 'ExecutionLogged' GROUP BY 1`,
        )
      ).rows as { id: string; n: number }[];
      await pool.end();
      expect(counts).toHaveLength(attempted.length);
      expect(counts.every((row) => row.n === 1)).toBe(true);
    } finally {
      await restarted.stop();
    }
  });

  it('given the embedded PostgreSQL, when the ledger is SIGKILLed, then a restart reaps the orphaned server and keeps the data', async () => {
    const tcpPort = await freePort();
    const env = {
      DATABASE_URL: '',
      LEDGER_DATA_DIR: join(dataDir, 'embedded'),
      LEDGER_EMBEDDED_PG_PORT: String(await freePort()),
      LEDGER_TCP_PORT: String(tcpPort),
      LEDGER_HTTP_PORT: String(await freePort()),
    };
    const first = await spawnLedger(env, tcpPort);
    const approval = anApproval();
    const [ack] = await sendAll(tcpPort, [[MESSAGE_PATTERNS.grantApproval, approval]]);
    await first.kill9();

    const second = await spawnLedger(env, tcpPort);
    try {
      const [again] = await sendAll(tcpPort, [[MESSAGE_PATTERNS.grantApproval, approval]]);
      expect(again).toEqual({ ...ack, duplicate: true });
    } finally {
      await second.stop();
    }
  });
});

/**
 * Clients that keep logging executions over TCP, each on its own connection, until told to stop. An execution is
 * acknowledged or not; a failed one (503, timeout, connection lost) is not retried: a new one is sent after a pause.
 */
function loadClients(tcpPort: number, approvalIds: string[]) {
  const acked = new Map<string, CommandAck>();
  let failures = 0;
  let stopped = false;
  const running = approvalIds.map(async (approvalId) => {
    let client = gatewayClient(tcpPort);
    for (let i = 0; !stopped; i++) {
      const execution = anExecution({ approvalId, command: `echo ${i}` });
      try {
        const ack = await firstValueFrom(
          client.send<CommandAck>(MESSAGE_PATTERNS.logExecution, execution).pipe(timeout(5000)),
        );
        acked.set(execution.executionId, ack);
      } catch {
        failures += 1;
        await client.close();
        await new Promise((resolve) => setTimeout(resolve, 100));
        client = gatewayClient(tcpPort);
      }
    }
    await client.close();
  });
  return {
    acked,
    failures: () => failures,
    async waitForMore(count: number) {
      const target = acked.size + count;
      for (let i = 0; i < 600 && acked.size < target; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      if (acked.size < target) throw new Error(`the clients did not get ${count} more acknowledgements within 30 s`);
    },
    async stop() {
      stopped = true;
      await Promise.all(running);
    },
  };
}

/** Every acknowledged execution is stored exactly once, and every approval stream's hash chain holds. */
async function expectEachAcknowledgedOnce(databaseUrl: string, acked: Map<string, CommandAck>, approvalIds: string[]) {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const counts = new Map(
      (
        await pool.query<{ id: string; n: number }>(
          `SELECT data->>'executionId' AS id, count(*)::int AS n FROM ledger.events WHERE type = 'ExecutionLogged' GROUP BY 1`,
        )
      ).rows.map((row) => [row.id, row.n]),
    );
    const missing = [...acked.keys()].filter((id) => counts.get(id) !== 1);
    expect(missing).toEqual([]);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    const rows = (
      await pool.query<EventRow>(`SELECT ${EVENT_ROW_COLUMNS} FROM ledger.events ORDER BY stream_id, stream_revision`)
    ).rows;
    for (const approvalId of approvalIds) {
      const stream = rows.filter((row) => row.stream_id === `approval-${approvalId}`).map(toChained);
      expect(verifyChain(stream)).toBeNull();
    }
  } finally {
    await pool.end();
  }
}

describe('issue 10 crash acceptance: kill -9 under concurrent load', () => {
  const CLIENTS = 6;
  const KILLS = 3;

  it('given clients logging executions over TCP, when the ledger is SIGKILLed and restarted several times, then every acknowledged execution is stored exactly once', async () => {
    const database = await createTestDatabase();
    const dataDir = mkdtempSync(join(tmpdir(), 'ledger-crash-load-'));
    const tcpPort = await freePort();
    const env = await ledgerEnv(database.url, dataDir, tcpPort);
    let ledger = await spawnLedger(env, tcpPort);
    try {
      const approvalIds = await grantApprovals(tcpPort, CLIENTS);
      const load = loadClients(tcpPort, approvalIds);
      for (let kill = 0; kill < KILLS; kill++) {
        await load.waitForMore(150);
        await ledger.kill9();
        ledger = await spawnLedger(env, tcpPort);
      }
      // Served again by the last restart without anything else done.
      await load.waitForMore(100);
      await load.stop();
      await expectEachAcknowledgedOnce(database.url, load.acked, approvalIds);
    } finally {
      await ledger.stop();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('given clients logging executions over TCP, when PostgreSQL is SIGKILLed and started again several times, then the same ledger process serves again and every acknowledged execution is stored exactly once', async () => {
    const server = await startSeparatePostgres();
    const dataDir = mkdtempSync(join(tmpdir(), 'ledger-crash-pg-'));
    const tcpPort = await freePort();
    const ledger = await spawnLedger(await ledgerEnv(server.url, dataDir, tcpPort), tcpPort);
    try {
      const approvalIds = await grantApprovals(tcpPort, CLIENTS);
      const load = loadClients(tcpPort, approvalIds);
      for (let kill = 0; kill < KILLS; kill++) {
        await load.waitForMore(150);
        const failuresBefore = load.failures();
        await server.kill9();
        // Appends fail while it is down (the clients see errors, nothing is acknowledged that is not stored).
        for (let i = 0; i < 100 && load.failures() === failuresBefore; i++) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        expect(load.failures()).toBeGreaterThan(failuresBefore);
        await server.start();
      }
      await load.waitForMore(150);
      await load.stop();
      expect(ledger.child.exitCode).toBeNull(); // the ledger was never restarted
      await expectEachAcknowledgedOnce(server.url, load.acked, approvalIds);
    } finally {
      await ledger.stop();
      await server.remove();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
