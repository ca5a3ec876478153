import type { EventStore } from '@audit-ledger/event-store';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../shared/tokens.js';
import { ApiKeyAdmin } from './api-key-admin.js';
import { ApiKeyAuthenticator, ApiKeyTable, type Authenticator } from '@audit-ledger/api-keys';
import { bootstrapLocalKeys, type BootstrapOutcome } from './bootstrap-local-keys.js';
import { CompositeAuthenticator } from './composite-authenticator.js';

export interface RunningIdentity {
  /** This process's projection of the `principals` stream. */
  table: ApiKeyTable;
  /** Issue, rotate, revoke and list API keys (the admin routes and the first start). */
  admin: ApiKeyAdmin;
  /** API keys, and JWTs when a JWT authenticator is given: what the guards call (token AUTHENTICATOR). */
  authenticator: Authenticator;
  bootstrap: BootstrapOutcome;
  stop(): Promise<void>;
}

export interface IdentityOptions {
  store: EventStore;
  dataDir: string;
  logger: Logger;
  /** Verifies credentials that are not API keys (bearer JWTs), when OIDC is configured. */
  jwt?: Authenticator;
  clock?: Clock;
}

/** Builds the key table from the store, creates the first keys when there are none, and follows the store. */
export async function startIdentity(options: IdentityOptions): Promise<RunningIdentity> {
  const table = await ApiKeyTable.start(options.store, options.logger);
  try {
    const admin = new ApiKeyAdmin(options.store, table, options.clock ?? systemClock);
    const bootstrap = await bootstrapLocalKeys(options.store, admin, options.dataDir, options.logger);
    // Keys another instance appended since the table was read (it won the first start's race, or wrote its keys
    // between that read and the bootstrap's check) must authenticate here before this process serves, not only once
    // the subscription delivers them.
    if (bootstrap !== 'created') await table.catchUp();
    return {
      table,
      admin,
      authenticator: new CompositeAuthenticator(new ApiKeyAuthenticator(table), options.jwt),
      bootstrap,
      stop: () => table.close(),
    };
  } catch (error) {
    await table.close();
    throw error;
  }
}
