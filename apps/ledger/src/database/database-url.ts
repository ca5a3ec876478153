import { EmbeddedPostgresServer, embeddedServerUser, runMigrations } from '@audit-ledger/event-store';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import type { LedgerConfig } from '../config/ledger.config.js';
import { ensurePrivateDirectory } from '../shared/private-directory.js';
import {
  handOverDerivedSchemasTo,
  loginCanAlterLedger,
  loginOf,
  provisionServiceLogin,
  SERVICE_LOGIN,
} from './service-login.js';

export interface ResolvedDatabase {
  /** The runtime login's connection string: every connection of the running service (docs/operations.md). */
  url: string;
  /** The connection string the migrations ran with (embedded superuser, LEDGER_MIGRATION_DATABASE_URL, or `url`). */
  adminUrl: string;
  embedded?: EmbeddedPostgresServer;
}

/**
 * Applies the migrations with the admin connection and returns the runtime one. DATABASE_URL when set (migrations
 * with LEDGER_MIGRATION_DATABASE_URL when that is set too); otherwise a real PostgreSQL started from npm's binaries
 * in `dataDir/pg`, migrated as its superuser and used through the login `ledger_service` (a member of ledger_writer
 * only), both with generated passwords kept in `dataDir` (mode 0600).
 */
export async function resolveDatabase(config: LedgerConfig, logger: Logger): Promise<ResolvedDatabase> {
  if (config.databaseUrl) {
    // The data directory holds the token key and the signing keys: its owner's only (created so where it is made).
    if (existsSync(config.dataDir)) {
      const tightened = ensurePrivateDirectory(resolve(config.dataDir));
      if (tightened) logger.warn({ dataDir: resolve(config.dataDir) }, tightened);
    }
    const adminUrl = config.migrationDatabaseUrl ?? config.databaseUrl;
    await runMigrations(adminUrl, { logger });
    if (config.migrationDatabaseUrl) await handOverToRuntimeLogin(adminUrl, config.databaseUrl, logger);
    await warnIfLoginCanAlterLedger(config.databaseUrl, logger);
    return { url: config.databaseUrl, adminUrl };
  }
  const root = resolve(config.dataDir);
  const serverUser = embeddedServerUser();
  const tightened = ensurePrivateDirectory(root, serverUser ? { traverseGid: serverUser.gid } : {});
  if (tightened) logger.warn({ dataDir: root }, tightened);
  const dataDir = join(root, 'pg');
  const embedded = new EmbeddedPostgresServer({
    dataDir,
    port: config.embeddedPgPort,
    log: (line) => logger.debug({ component: 'embedded-postgres' }, line),
    notice: (message) => logger.warn({ component: 'embedded-postgres' }, message),
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
  try {
    const adminUrl = await ensureDatabase(serverUrl, 'ledger');
    await runMigrations(adminUrl, { logger });
    const password = readOrCreateSecret(join(root, `pg-${SERVICE_LOGIN}.password`), logger);
    const handedOver = await provisionServiceLogin(adminUrl, password);
    if (handedOver.length > 0) {
      logger.warn({ schemas: handedOver }, `handed the read-model schemas over to the runtime login ${SERVICE_LOGIN}`);
    }
    const url = new URL(adminUrl);
    url.username = SERVICE_LOGIN;
    url.password = password;
    return { url: url.toString(), adminUrl, embedded };
  } catch (error) {
    await embedded.stop();
    throw error;
  }
}

/** Schemas of read models the admin login created (when it was the runtime login too) go to the runtime login. */
async function handOverToRuntimeLogin(adminUrl: string, runtimeUrl: string, logger: Logger): Promise<void> {
  const [admin, runtime] = await Promise.all([loginOf(adminUrl), loginOf(runtimeUrl)]);
  if (admin === runtime) return;
  try {
    const handedOver = await handOverDerivedSchemasTo(adminUrl, runtime);
    if (handedOver.length > 0) {
      logger.warn(
        { schemas: handedOver, login: runtime },
        `handed the read-model schemas over to the runtime login ${runtime}`,
      );
    }
  } catch (error) {
    logger.warn(
      { err: error, login: runtime },
      `could not hand the read-model schemas created by ${admin} over to the runtime login ${runtime}: do it by hand (docs/operations.md)`,
    );
  }
}

/** The runtime login should not be able to change the ledger's tables: say so loudly when it can. */
async function warnIfLoginCanAlterLedger(url: string, logger: Logger): Promise<void> {
  const power = await loginCanAlterLedger(url).catch(() => undefined);
  if (!power) return;
  logger.warn(
    { login: power.login },
    `the ledger's database login ${power.login} can alter or drop the ledger's tables (${power.reason}): ` +
      'append-only then rests on the triggers, checkpoints and witness alone. Run the ledger as a login that is a ' +
      'member of ledger_writer only, with LEDGER_MIGRATION_DATABASE_URL for the migrations (docs/operations.md)',
  );
}

/** A generated secret kept in `file` (mode 0600, tightened when wider). */
function readOrCreateSecret(file: string, logger: Logger): string {
  if (!existsSync(file)) {
    writeFileSync(file, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  } else if ((statSync(file).mode & 0o077) !== 0) {
    chmodSync(file, 0o600);
    logger.warn({ file }, `tightened ${file} to mode 0600`);
  }
  return readFileSync(file, 'utf8').trim();
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
