import { EmbeddedPostgresServer } from '@audit-ledger/event-store';
import { join, resolve } from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import type { LedgerConfig } from '../config/ledger.config.js';

export interface ResolvedDatabase {
  url: string;
  embedded?: EmbeddedPostgresServer;
}

/** DATABASE_URL when set; otherwise a real PostgreSQL started from npm's binaries in `dataDir/pg`. */
export async function resolveDatabase(config: LedgerConfig, logger: Logger): Promise<ResolvedDatabase> {
  if (config.databaseUrl) return { url: config.databaseUrl };
  const dataDir = join(resolve(config.dataDir), 'pg');
  const embedded = new EmbeddedPostgresServer({
    dataDir,
    port: config.embeddedPgPort,
    log: (line) => logger.debug({ component: 'embedded-postgres' }, line),
    // The ledger owns its server: when it dies (killed, crashed) the ledger starts it again and reconnects.
    restartOnExit: true,
    onRestart: ({ phase, detail }) =>
      (phase === 'restarted' ? logger.warn.bind(logger) : logger.error.bind(logger))(
        { component: 'embedded-postgres', detail },
        phase === 'exited'
          ? 'the embedded PostgreSQL exited unexpectedly; starting it again'
          : phase === 'restarted'
            ? 'the embedded PostgreSQL runs again'
            : 'the embedded PostgreSQL did not start again; retrying',
      ),
  });
  logger.info({ dataDir, port: config.embeddedPgPort }, 'starting embedded PostgreSQL (no DATABASE_URL set)');
  const serverUrl = await embedded.start();
  return { url: await ensureDatabase(serverUrl, 'ledger'), embedded };
}

async function ensureDatabase(serverUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
