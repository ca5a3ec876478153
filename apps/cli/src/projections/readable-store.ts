import { PostgresEventStore, type EventStore } from '@audit-ledger/event-store';
import { openPayloadKeys } from '@audit-ledger/payload-keys';
import { payloadKeysConfigFromEnvironment } from './payload-keys-config.js';

/** The ledger's events as its own workers read them; `close` closes the store and the payload keys. */
export interface ReadableStore {
  store: EventStore;
  close(): Promise<void>;
}

/**
 * For a projections command next to a running ledger: the PostgreSQL store (not migrated) with sealed fields opened
 * (or `[erased]`) by the payload keys, as the ledger's own workers read them.
 */
export async function openReadableStore(databaseUrl: string): Promise<ReadableStore> {
  const stored = await PostgresEventStore.connect({ connectionString: databaseUrl, migrate: false, poolSize: 2 });
  const payloads = await openPayloadKeys(databaseUrl, payloadKeysConfigFromEnvironment(), {
    generateMasterKey: false,
  }).catch(async (error: unknown) => {
    await stored.close();
    throw error;
  });
  const store = payloads.decrypting(stored);
  return {
    store,
    close: async () => {
      await store.close();
      await payloads.close();
    },
  };
}
