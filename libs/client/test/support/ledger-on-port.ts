import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { localKeyFor } from '../../src/index.js';
import { freePort, type LedgerConfigInput, type RunningLedger } from '../../../../apps/ledger/src/index.js';
import { startTestLedger } from '../../../../test/support/ledger-app.js';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/test-database.js';

/** The real ledger, in-process, on a fixed TCP port and one database: stop it for an outage, start it again. */
export class LedgerOnPort {
  private running: RunningLedger | undefined;
  private pool: pg.Pool | undefined;
  private readonly dataDir = mkdtempSync(join(tmpdir(), 'ledger-client-int-'));

  private constructor(
    readonly tcpPort: number,
    readonly database: TestDatabase,
  ) {}

  /**
   * Started once and stopped again, so that its first start has written the local keys into its data directory: the
   * clients of a test are built (with {@link gatewayKey}) while the ledger may be away.
   */
  static async create(): Promise<LedgerOnPort> {
    const ledger = new LedgerOnPort(await freePort(), await createTestDatabase('ledger_client'));
    await ledger.start();
    await ledger.stop();
    return ledger;
  }

  /** The gateway key the ledger's first start wrote into its data directory. */
  get gatewayKey(): string {
    const key = localKeyFor(this.dataDir, 'gateway');
    if (!key) throw new Error(`no gateway key in ${this.dataDir}`);
    return key;
  }

  get httpPort(): number {
    if (!this.running) throw new Error('the ledger is stopped');
    return this.running.httpPort;
  }

  async start(overrides: Partial<LedgerConfigInput> = {}): Promise<void> {
    this.running = await startTestLedger(this.database.url, {
      dataDir: this.dataDir,
      tcpPort: this.tcpPort,
      reconciliationEnabled: false, // these suites count the events the client sent
      ...overrides,
    });
  }

  async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    await running?.close();
  }

  /** The execution ids recorded in a stream, in stream order, straight from the events table. */
  async executionIdsIn(streamId: string): Promise<string[]> {
    this.pool ??= new pg.Pool({ connectionString: this.database.url, max: 1 });
    const { rows } = await this.pool.query<{ execution_id: string }>(
      `SELECT data->>'executionId' AS execution_id FROM ledger.events
        WHERE stream_id = $1 AND type = 'ExecutionLogged' ORDER BY stream_revision`,
      [streamId],
    );
    return rows.map((row) => row.execution_id);
  }

  async dispose(): Promise<void> {
    await this.stop();
    await this.pool?.end();
    await this.database.drop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** A stand-in for an outage, not for the ledger: a port that accepts connections and then drops or ignores them. */
export async function outageServer(behaviour: 'drop' | 'ignore'): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (behaviour === 'drop') socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return {
    port: address.port,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
