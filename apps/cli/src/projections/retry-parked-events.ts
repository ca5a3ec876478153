import { PostgresEventStore } from '@audit-ledger/event-store';
import { openPayloadKeys } from '@audit-ledger/payload-keys';
import { retryParkedEvents, type RetriedProjection } from '@audit-ledger/read-models';
import { payloadKeysConfigFromEnvironment } from './payload-keys-config.js';
import { ledgerProjections } from './rebuild-read-models.js';

export interface RetryParkedOptions {
  /** The database owner's URL (the ledger's DATABASE_URL). */
  databaseUrl: string;
  /** Projections whose parked events to retry; default all. */
  names?: string[];
}

/**
 * `ledger projections retry-parked`: reads the parked events through the PostgreSQL event store (without migrating
 * it) and applies them again with the ledger's projections, next to a running ledger (docs/read-models.md).
 */
export async function retryParked(options: RetryParkedOptions): Promise<RetriedProjection[]> {
  const stored = await PostgresEventStore.connect({
    connectionString: options.databaseUrl,
    migrate: false,
    poolSize: 2,
  });
  // Sealed fields are projected opened (or `[erased]`), as the ledger's own workers do.
  const payloads = await openPayloadKeys(options.databaseUrl, payloadKeysConfigFromEnvironment(), {
    generateMasterKey: false,
  }).catch(async (error: unknown) => {
    await stored.close();
    throw error;
  });
  const store = payloads.decrypting(stored);
  try {
    return await retryParkedEvents({
      store,
      connectionString: options.databaseUrl,
      projections: ledgerProjections(),
      ...(options.names ? { names: options.names } : {}),
    });
  } finally {
    await store.close();
    await payloads.close();
  }
}
