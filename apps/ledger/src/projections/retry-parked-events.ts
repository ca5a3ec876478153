import { PostgresEventStore } from '@audit-ledger/event-store';
import { retryParkedEvents, type RetriedProjection } from '@audit-ledger/read-models';
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
  const store = await PostgresEventStore.connect({
    connectionString: options.databaseUrl,
    migrate: false,
    poolSize: 2,
  });
  try {
    return await retryParkedEvents({
      store,
      connectionString: options.databaseUrl,
      projections: ledgerProjections(),
      ...(options.names ? { names: options.names } : {}),
    });
  } finally {
    await store.close();
  }
}
