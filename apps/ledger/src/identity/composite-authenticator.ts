import type { Principal } from '@audit-ledger/domain';
import { looksLikeApiKey, UnauthenticatedError, type Authenticator } from '@audit-ledger/api-keys';

/**
 * The one authenticator the guards call: `alk_…` credentials go to the API key table; anything else to the JWT
 * authenticator when OIDC is configured, else it is refused.
 */
export class CompositeAuthenticator implements Authenticator {
  constructor(
    private readonly apiKeys: Authenticator,
    private readonly jwt: Authenticator | undefined,
  ) {}

  authenticate(credential: string): Promise<Principal> {
    const trimmed = credential.trim();
    if (trimmed === '') return Promise.reject(new UnauthenticatedError('no credential'));
    if (looksLikeApiKey(trimmed)) return this.apiKeys.authenticate(trimmed);
    if (this.jwt) return this.jwt.authenticate(trimmed);
    return Promise.reject(
      new UnauthenticatedError('not an API key (alk_…), and no OIDC issuer is configured to verify a JWT'),
    );
  }
}
