import { ReadModelQueries } from '@audit-ledger/read-models';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import pg from 'pg';

export const QUERIES_DATABASE_URL = Symbol('QUERIES_DATABASE_URL');

/**
 * The query API's own small pool. Its sessions are read-only (`default_transaction_read_only`), so a bug in a query
 * can never write, although the URL is the owner's (the one that can read `read_models` and `ledger.events`).
 */
@Injectable()
export class QueriesDatabase implements OnApplicationShutdown {
  readonly pool: pg.Pool;
  readonly queries: ReadModelQueries;

  constructor(@Inject(QUERIES_DATABASE_URL) databaseUrl: string) {
    this.pool = new pg.Pool({
      connectionString: databaseUrl,
      max: 5,
      application_name: 'audit-ledger-queries',
      options: '-c default_transaction_read_only=on -c statement_timeout=30000',
    });
    this.pool.on('error', () => undefined); // an idle connection that dies is replaced on the next query
    // A connection that dies while checked out emits 'error' too: its query fails, the process must not.
    this.pool.on('connect', (client) => client.on('error', () => undefined));
    this.queries = new ReadModelQueries(this.pool);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}
