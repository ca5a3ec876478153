import pg from 'pg';
import { PREPARE_APPEND_STATEMENTS } from './append-statements.js';
import { WRITER_ROLE } from './ledger-schema.js';
import { type EventStoreLogger } from './logger.js';
import { isConnectionError } from './pg-errors.js';

const CONNECT_TIMEOUT_MS = 5_000;

export interface WriterPoolOptions {
  connectionString: string;
  poolSize: number;
  logger: EventStoreLogger;
}

/**
 * A pg pool whose every connection runs as the writer role (SELECT and INSERT on events only), so the service cannot
 * change history even if its code tried. The role is set before a connection's first use and a connection whose
 * SET ROLE fails is destroyed: it never runs a query with the login role's privileges. In the same message the
 * append transaction's statements are prepared (append-statements.ts), so every connection can write a batch; a
 * connection where that fails is destroyed too.
 */
export class WriterPool {
  private readonly pool: pg.Pool;
  private readonly prepared = new WeakSet<pg.PoolClient>();

  constructor(private readonly options: WriterPoolOptions) {
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.poolSize,
      application_name: 'audit-ledger',
      // A server that does not answer (host gone, network cut) fails the append with 503 instead of holding it, and
      // a connection whose peer vanished without closing it is found by TCP keepalive rather than never.
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      // Never closed for being idle (pg's default closes them after 10 s): the first append after a quiet spell
      // otherwise waited for a new backend, its authentication, SET ROLE and PREPARE and its first plans, and every
      // command arriving meanwhile queued behind it (issue 14: the paced p99). At most `poolSize` stay open.
      idleTimeoutMillis: 0,
    });
    // An idle connection that breaks (server restart) must not crash the process; the pool replaces it.
    // The server ending it (a shutdown or restart: 57P01-57P03) is an operational event, logged without a stack.
    this.pool.on('error', (error: Error & { code?: string }) =>
      options.logger.warn(
        /^57P0[1-3]$/.test(error.code ?? '') ? { code: error.code, reason: error.message } : { err: error },
        'idle event store connection failed',
      ),
    );
    // The pool listens for errors of idle connections only. A socket that fails while checked out (a server that
    // dropped it, then a ROLLBACK written to it; a postmaster killed between connect and first use) also emits
    // 'error', which must not crash the process: the query it fails is answered with the same error, and the
    // connection is destroyed when released. Attached as each connection opens, before anyone can use it.
    this.pool.on('connect', (client) => client.on('error', () => undefined));
  }

  async acquire(): Promise<pg.PoolClient> {
    const client = await this.pool.connect();
    if (this.prepared.has(client)) return client;
    try {
      await client.query(`SET ROLE ${WRITER_ROLE};\n${PREPARE_APPEND_STATEMENTS}`);
    } catch (error) {
      client.release(true);
      throw error;
    }
    this.prepared.add(client);
    return client;
  }

  /**
   * Runs `work` on one connection. A connection that failed without a server error (socket, or an error of ours that
   * may have left a transaction open) is destroyed rather than returned to the pool.
   */
  async withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.acquire();
    let broken = false;
    try {
      return await work(client);
    } catch (error) {
      broken = isConnectionError(error);
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    return this.withClient((client) => client.query<R>(text, values));
  }

  /** Connections open, idle among them, and callers waiting for one (metrics). */
  usage(): { total: number; idle: number; waiting: number } {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount };
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}
