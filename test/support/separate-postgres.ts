import { EmbeddedPostgresServer } from '@audit-ledger/event-store';
import { chmodSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePort } from '../../apps/ledger/src/shared/free-port.js';
import { processAlive } from './process-alive.js';

/**
 * A PostgreSQL server of one test's own (never the shared test server): it can be stopped, SIGKILLed and started
 * again under a running ledger. `url` is a database of its own on it, as the superuser.
 */
export interface SeparatePostgres {
  url: string;
  /** Fast shutdown (SIGINT), then the server is down until `start`. */
  stop(): Promise<void>;
  /** SIGKILL of the postmaster: no shutdown, its backends die with it. */
  kill9(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its cluster. */
  remove(): Promise<void>;
}

export async function startSeparatePostgres(): Promise<SeparatePostgres> {
  const parent = mkdtempSync(join(tmpdir(), 'ledger-separate-pg-'));
  chmodSync(parent, 0o755); // as root the server runs as the OS user postgres
  const clusterDir = join(parent, 'pg');
  const server = new EmbeddedPostgresServer({ dataDir: clusterDir, port: await freePort() });
  const serverUrl = await server.start();
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query('CREATE DATABASE ledger_restart');
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = '/ledger_restart';
  const postmasterPid = () =>
    Number.parseInt(readFileSync(join(realpathSync(clusterDir), 'postmaster.pid'), 'utf8').split('\n')[0]!, 10);
  return {
    url: url.toString(),
    stop: () => server.stop(),
    async kill9() {
      const pid = postmasterPid();
      process.kill(pid, 'SIGKILL');
      while (processAlive(pid)) await sleep(20);
    },
    async start() {
      // After a SIGKILL the orphaned backends notice within a moment; until then the server refuses to start.
      for (let attempt = 1; ; attempt++) {
        try {
          await server.start();
          return;
        } catch (error) {
          if (attempt >= 20) throw error;
          await sleep(250);
        }
      }
    },
    async remove() {
      await server.stop().catch(() => undefined);
      rmSync(realpathSync(clusterDir), { recursive: true, force: true });
      rmSync(parent, { recursive: true, force: true });
    },
  };
}
