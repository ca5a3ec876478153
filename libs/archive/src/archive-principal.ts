import type { Principal } from '@audit-ledger/domain';
import type { EventStore } from '@audit-ledger/event-store';
import { ApiKeyAuthenticator, ApiKeyTable } from '@audit-ledger/api-keys';

/**
 * The principal of an API key, authenticated against the ledger's key table (the `principals` stream) read from the
 * same database: the archive commands run next to the database, not through the ledger's HTTP API, and every actor is
 * still an authenticated principal (docs/security.md). Throws UnauthenticatedError for an unknown or revoked key.
 */
export async function principalOfApiKey(store: EventStore, apiKey: string): Promise<Principal> {
  const table = await ApiKeyTable.start(store, { warn: () => undefined, error: () => undefined });
  try {
    return await new ApiKeyAuthenticator(table).authenticate(apiKey);
  } finally {
    await table.close();
  }
}

/** The store the archive commands append to (the database is migrated by the ledger, never here). */
export async function connectArchiveStore(databaseUrl: string): Promise<EventStore> {
  const { PostgresEventStore } = await import('@audit-ledger/event-store');
  return PostgresEventStore.connect({ connectionString: databaseUrl, migrate: false, poolSize: 2 });
}
