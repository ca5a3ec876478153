import { PostgresEventStore, type EventStore } from '@audit-ledger/event-store';
import type { Logger } from 'pino';
import type { LedgerConfig } from '../config/ledger.config.js';
import { resolveDatabase, type ResolvedDatabase } from '../database/database-url.js';
import { openPayloadKeys, type PayloadKeys } from '@audit-ledger/payload-keys';
import type { ConnectionPrincipal } from '../identity/connection-principal.js';
import { LedgerMetrics } from '../metrics/ledger-metrics.js';
import { observeAppends } from '../metrics/observe-appends.js';

/**
 * What every feature stands on, opened before the Nest app is built (the app cannot be wired without a database):
 * the database (embedded unless DATABASE_URL, migrations applied), the event store, the payload keys.
 */
export interface LedgerCore {
  config: LedgerConfig;
  logger: Logger;
  metrics: LedgerMetrics;
  database: ResolvedDatabase;
  /** The store as written (sealed fields stay sealed): what hashes, seals and verifies events. */
  store: PostgresEventStore;
  /** `store` with sealed fields opened: what the reconciler and projections read and append through. */
  readableStore: EventStore;
  payloads: PayloadKeys;
  /** The principal a connection proves by itself (TLS client certificates), if any. */
  connectionPrincipal?: ConnectionPrincipal;
  /** Closes the payload keys, then the store, then the embedded PostgreSQL. */
  close(): Promise<void>;
}

/** Opens the database, the store and the payload keys in that order; what was opened is closed again on a failure. */
export async function openLedgerCore(
  config: LedgerConfig,
  logger: Logger,
  connectionPrincipal: ConnectionPrincipal | undefined,
): Promise<LedgerCore> {
  const database = await resolveDatabase(config, logger);
  const closers: (() => Promise<void>)[] = [];
  if (database.embedded) closers.push(() => database.embedded!.stop());
  const close = async () => {
    for (const closer of closers.reverse())
      await closer().catch((error: unknown) => logger.error({ err: error }, 'close failed'));
  };
  try {
    // resolveDatabase applied the migrations with the admin connection; everything from here uses the runtime login.
    const metrics = new LedgerMetrics();
    const store = observeAppends(
      await PostgresEventStore.connect({
        connectionString: database.url,
        migrate: false,
        poolSize: config.dbPoolSize,
        logger,
      }),
      metrics,
    );
    closers.push(() => store.close());
    // Before anything is appended or read: the data keys' table, the master key (generated on the first start).
    const payloads = await openPayloadKeys(database.url, config);
    closers.push(() => payloads.close());
    return {
      config,
      logger,
      metrics,
      database,
      store,
      readableStore: payloads.decrypting(store),
      payloads,
      ...(connectionPrincipal ? { connectionPrincipal } : {}),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
