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
  let serverUrl = process.env.DATABASE_URL;
  let embedded: EmbeddedPostgresServer | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'ledger-bench-'));
  chmodSync(dir, 0o755); // the embedded server runs as the OS user postgres
  if (!serverUrl) {
    embedded = new EmbeddedPostgresServer({ dataDir: join(dir, 'pg'), port: await freePort(), ephemeral: true });
    serverUrl = await embedded.start();
  }
  const name = `ledger_bench_${Date.now()}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    label: embedded ? 'embedded PostgreSQL 18 (npm)' : `PostgreSQL at ${new URL(serverUrl).host}`,
    async close() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
      await embedded?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface BenchLedger {
  tcpPort: number;
  /** The query API (`/v1/...`), `/health`. */
  httpPort: number;
  /** The ledger's LEDGER_DATA_DIR (its checkpoint keys are in `keys/`); removed by stop(). */
  dataDir: string;
  /** The ledger process's id (its CPU time is read from /proc by the workers bench). */
  pid: number;
  stop(): Promise<void>;
}

/** The built ledger as its own process, as in production: the bench's clients do not share its event loop. */
export async function spawnBenchLedger(
  databaseUrl: string,
  env: Record<string, string> = {},
  /** The script to run instead of the ledger's main (bench/dist/unauthenticated-ledger.js). */
  entry?: string,
): Promise<BenchLedger> {
  const tcpPort = await freePort();
  const httpPort = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'ledger-bench-data-'));
  const main = entry ?? fileURLToPath(new URL('../../apps/ledger/dist/main.js', import.meta.url));
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
    tcpPort,
    httpPort,
    dataDir,
    pid: child.pid!,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
