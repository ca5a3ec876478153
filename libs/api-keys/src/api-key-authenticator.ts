import type { Principal } from '@audit-ledger/domain';
import { timingSafeEqual } from 'node:crypto';
import { hashApiKey, parseApiKey } from './api-key.js';
import type { ApiKeyTable } from './api-key-table.js';
import { UnauthenticatedError, type Authenticator } from './authenticator.js';

/** Lookups the key table answers: the whole table, or anything that can find a key by id (tests). */
export type ApiKeyLookup = Pick<ApiKeyTable, 'lookup'>;

/**
 * Authenticates `alk_…` API keys against the key table. The key id finds the entry; the SHA-256 of the presented key
 * is compared with the stored hash in constant time. A wrong secret for a known key id is answered like an unknown
 * key (the id alone proves nothing); only the holder of the real key learns that it was revoked.
 */
export class ApiKeyAuthenticator implements Authenticator {
  constructor(private readonly table: ApiKeyLookup) {}

  /** Async so that every refusal is a rejected promise, never a synchronous throw. */
  async authenticate(credential: string): Promise<Principal> {
    return this.principalOf(credential);
  }

  private principalOf(credential: string): Principal {
    const parsed = parseApiKey(credential);
    if (!parsed) {
      throw new UnauthenticatedError('malformed API key: expected alk_<12-character key id>_<43-character secret>');
    }
    const entry = this.table.lookup(parsed.keyId);
    const presented = Buffer.from(hashApiKey(credential), 'hex');
    // Compare against something even for an unknown id, so both answers take the same time.
    const stored = Buffer.from(entry?.keyHash ?? '0'.repeat(64), 'hex');
    if (!timingSafeEqual(presented, stored) || !entry) throw new UnauthenticatedError('unknown API key');
    if (entry.revokedAt !== undefined) {
      throw new UnauthenticatedError(`API key ${entry.keyId} (${entry.name}) was revoked at ${entry.revokedAt}`);
    }
    return { id: entry.principalId, kind: 'api-key', name: entry.name, roles: entry.roles };
  }
}
