import { EmbeddedPostgresServer } from '@audit-ledger/event-store';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '@audit-ledger/ledger';
import pg from 'pg';

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => (socket.destroy(), resolve(false)));
  });
}

export interface BenchDatabase {
  url: string;
  label: string;
  close(): Promise<void>;
}

/** A fresh database: on DATABASE_URL's server when set, else on an embedded PostgreSQL started for the run. */
export async function benchDatabase(): Promise<BenchDatabase> {
  const server = await benchServer();
  const database = await server.database();
  return { ...database, close: async () => (await database.close(), await server.stop()) };
}

export interface BenchServer {
  label: string;
  /** A fresh database on this server, dropped by its close(). */
  database(): Promise<BenchDatabase>;
  stop(): Promise<void>;
}

/**
 * One PostgreSQL server for several fresh databases (runs compared side by side share it): DATABASE_URL's server when
 * set, else an embedded PostgreSQL started here and stopped by stop().
 */
export async function benchServer(): Promise<BenchServer> {
  let serverUrl = process.env.DATABASE_URL;
  let embedded: EmbeddedPostgresServer | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'ledger-bench-'));
  chmodSync(dir, 0o755); // the embedded server runs as the OS user postgres
  if (!serverUrl) {
    embedded = new EmbeddedPostgresServer({ dataDir: join(dir, 'pg'), port: await freePort(), ephemeral: true });
    serverUrl = await embedded.start();
  }
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    await client.query(sql);
    await client.end();
  };
  const label = embedded ? 'embedded PostgreSQL 18 (npm)' : `PostgreSQL at ${new URL(serverUrl).host}`;
  let count = 0;
  return {
    label,
    async database() {
      const name = `ledger_bench_${Date.now()}_${count++}`;
      await admin(`CREATE DATABASE ${name}`);
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      return {
        url: url.toString(),
        label,
        close: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
      };
    },
    async stop() {
      await embedded?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface BenchLedger {
  /** The ledger process's id (its CPU time is read from /proc). */
  pid: number;
  tcpPort: number;
  /** The query API (`/v1/...`), `/health`. */
  httpPort: number;
  /** The ledger's LEDGER_DATA_DIR (its checkpoint keys are in `keys/`); removed by stop(). */
  dataDir: string;
  stop(): Promise<void>;
}

/** The built ledger as its own process, as in production: the bench's clients do not share its event loop. */
export async function spawnBenchLedger(
  databaseUrl: string,
  env: Record<string, string> = {},
  /**
   * The script to run instead of the ledger's main (bench/dist/unauthenticated-ledger.js); default
   * `BENCH_LEDGER_MAIN` when set (another build's apps/ledger/dist/main.js: a before/after of a bench that has no
   * compare option of its own, such as bench:alerts), else this build's.
   */
  entry?: string,
): Promise<BenchLedger> {
  const tcpPort = await freePort();
  const httpPort = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'ledger-bench-data-'));
  const main =
    entry ?? process.env.BENCH_LEDGER_MAIN ?? fileURLToPath(new URL('../../apps/ledger/dist/main.js', import.meta.url));
  const child: ChildProcess = spawn(
    process.execPath,
    [...(process.env.BENCH_LEDGER_NODE_FLAGS?.split(' ').filter(Boolean) ?? []), main],
    {
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        LEDGER_DATA_DIR: dataDir,
        LEDGER_TCP_PORT: String(tcpPort),
        LEDGER_HTTP_PORT: String(httpPort),
        LEDGER_LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  for (let i = 0; !(await reachable(tcpPort)); i++) {
    if (i > 300 || child.exitCode !== null) throw new Error('the ledger did not start');
    await sleep(100);
  }
  return {
    pid: child.pid!,
    tcpPort,
    httpPort,
    dataDir,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
