import { retryParkedEvents, type RetriedProjection } from '@audit-ledger/read-models';
import { openReadableStore } from './readable-store.js';
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
  const { store, close } = await openReadableStore(options.databaseUrl);
  try {
    return await retryParkedEvents({
      store,
      connectionString: options.databaseUrl,
      projections: ledgerProjections(),
      ...(options.names ? { names: options.names } : {}),
    });
  } finally {
    await close();
  }
}
