import { existsSync, readFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { CliFailure } from './cli-failure.js';
import type { CliIo } from './cli-io.js';
import { EXIT_CODES } from './exit-codes.js';

/** The runtime login the ledger creates on its embedded PostgreSQL, and the file holding its generated password. */
const EMBEDDED_LOGIN = 'ledger_service';
const EMBEDDED_DATABASE = 'ledger';
const DEFAULT_EMBEDDED_PORT = '54329';

/** A database a command works on, and what to do when it is done (stop a server the command started). */
export interface CliDatabase {
  url: string;
  close(): Promise<void>;
}

/**
 * The database a command reads: `--database-url` / `DATABASE_URL`; otherwise, next to a ledger running on its embedded
 * PostgreSQL (the README's first run), that server through the runtime login whose generated password is kept in
 * `$LEDGER_DATA_DIR/pg-ledger_service.password` (docs/operations.md). The port is the one the server runs on (its
 * `postmaster.pid`), else `LEDGER_EMBEDDED_PG_PORT`, else the default.
 */
export function databaseUrlOf(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return explicit;
  const { dataDir, password } = embeddedLogin(env);
  return embeddedUrl(runningPort(dataDir) ?? configuredPort(env), password);
}

/**
 * As databaseUrlOf, and when no URL is given and nothing answers on the embedded port (the ledger is stopped), starts
 * the data directory's embedded PostgreSQL on a free loopback port for this command and stops it in `close` (a ledger
 * started meanwhile is refused with "in use by the running process", and starts once the command is done).
 */
export async function openDatabase(
  explicit: string | undefined,
  io: CliIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CliDatabase> {
  const nothing = () => Promise.resolve();
  if (explicit) return { url: explicit, close: nothing };
  const { dataDir, password } = embeddedLogin(env);
  const running = runningPort(dataDir);
  if (running !== undefined && (await answers(running))) return { url: embeddedUrl(running, password), close: nothing };
  const port = configuredPort(env);
  if (await answers(port)) return { url: embeddedUrl(port, password), close: nothing };
  const clusterDir = join(dataDir, 'pg');
  if (!existsSync(join(clusterDir, 'PG_VERSION'))) {
    throw new CliFailure(
      EXIT_CODES.failure,
      `no database: nothing answers on 127.0.0.1:${port} and ${clusterDir} holds no PostgreSQL cluster`,
      ['pass --database-url or set DATABASE_URL, or set LEDGER_DATA_DIR to the ledger’s data directory'],
    );
  }
  const { EmbeddedPostgresServer } = await import('@audit-ledger/event-store');
  // A port of its own: the server is this command's alone, and the configured one may be taken by something else.
  const ownPort = await freePort();
  const server = new EmbeddedPostgresServer({ dataDir: clusterDir, port: ownPort });
  try {
    await server.start();
  } catch (error) {
    throw new CliFailure(
      EXIT_CODES.failure,
      `cannot start the embedded PostgreSQL of ${dataDir}: ${(error as Error).message}`,
    );
  }
  io.err(`the ledger is not running: started its embedded PostgreSQL (${clusterDir}) for this command\n`);
  return { url: embeddedUrl(ownPort, password), close: () => server.stop('smart') };
}

function embeddedLogin(env: NodeJS.ProcessEnv): { dataDir: string; password: string } {
  const dataDir = resolve(env.LEDGER_DATA_DIR || './data');
  const passwordFile = join(dataDir, `pg-${EMBEDDED_LOGIN}.password`);
  if (!existsSync(passwordFile)) {
    throw new CliFailure(
      EXIT_CODES.badInput,
      `no database: pass --database-url or set DATABASE_URL (no embedded ledger's ${passwordFile} here either)`,
    );
  }
  try {
    return { dataDir, password: readFileSync(passwordFile, 'utf8').trim() };
  } catch (error) {
    throw new CliFailure(EXIT_CODES.failure, `cannot read ${passwordFile}: ${(error as Error).message}`);
  }
}

/** The port in the running server's `postmaster.pid` (its fourth line), if there is one. */
function runningPort(dataDir: string): number | undefined {
  try {
    const port = Number(readFileSync(join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[3]);
    return Number.isInteger(port) && port > 0 && port < 65_536 ? port : undefined;
  } catch {
    return undefined;
  }
}

const configuredPort = (env: NodeJS.ProcessEnv): number => Number(env.LEDGER_EMBEDDED_PG_PORT || DEFAULT_EMBEDDED_PORT);

function embeddedUrl(port: number, password: string): string {
  const url = new URL(`postgres://127.0.0.1:${port}/`);
  url.pathname = `/${EMBEDDED_DATABASE}`;
  url.username = EMBEDDED_LOGIN;
  url.password = password;
  return url.toString();
}

/** Whether a server accepts TCP connections on 127.0.0.1:`port` (within a second). */
function answers(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host: '127.0.0.1', port, timeout: 1000 });
    const end = (result: boolean) => {
      socket.destroy();
      done(result);
    };
    socket.once('connect', () => end(true));
    socket.once('error', () => end(false));
    socket.once('timeout', () => end(false));
  });
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => done(port));
    });
  });
}
