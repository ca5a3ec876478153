import { MESSAGE_PATTERNS, type CommandAck, type LogExecutionRequest } from '@audit-ledger/domain';
import { verifyChain } from '@audit-ledger/integrity';
import { ClientProxyFactory, Transport } from '@nestjs/microservices';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { firstValueFrom, timeout } from 'rxjs';
import { freePort } from '../../apps/ledger/src/shared/free-port.js';
import { EVENT_ROW_COLUMNS, toChained, type EventRow } from '../support/event-rows.js';
import { anApproval, anExecution } from '../support/fixtures.js';
import { spawnLedger } from '../support/ledger-process.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

async function sendAll(port: number, payloads: [string, unknown][]): Promise<CommandAck[]> {
  const client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
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
    const env = {
      DATABASE_URL: database.url,
      LEDGER_DATA_DIR: dataDir,
      LEDGER_TCP_PORT: String(tcpPort),
      LEDGER_HTTP_PORT: String(await freePort()),
    };
    const ledger = await spawnLedger(env, tcpPort);
    const approvals = Array.from({ length: 8 }, () => anApproval());
    await sendAll(
      tcpPort,
      approvals.map((approval) => [MESSAGE_PATTERNS.grantApproval, approval]),
    );

    const attempted: LogExecutionRequest[] = [];
    const acked: CommandAck[] = [];
    const clients = approvals.map(async (approval) => {
      const client = ClientProxyFactory.create({
        transport: Transport.TCP,
        options: { host: '127.0.0.1', port: tcpPort },
      });
      try {
        for (let i = 0; i < 100_000; i++) {
          const execution = anExecution({ approvalId: approval.approvalId, command: `echo ${i}` });
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
      for (const approval of approvals) {
        const stream = rows.filter((row) => row.stream_id === `approval-${approval.approvalId}`).map(toChained);
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
