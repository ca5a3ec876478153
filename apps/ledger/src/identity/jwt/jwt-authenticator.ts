import type { Principal } from '@audit-ledger/domain';
import type { Authenticator } from '@audit-ledger/api-keys';
import { JwtVerifier } from './jwt-verifier.js';
import type { OidcOptions } from './oidc-options.js';
import { rolesFromClaims } from './role-claims.js';

const MAX_NAME_LENGTH = 256;

/**
 * Bearer JWTs of the configured OIDC issuer (people, and gateways that have an identity provider). The principal is
 * `jwt:<iss>#<sub>`, named by `preferred_username`, else `email`, else `sub`, with the roles its claim maps to.
 */
export class JwtAuthenticator implements Authenticator {
  readonly verifier: JwtVerifier;

  constructor(readonly options: OidcOptions) {
    this.verifier = new JwtVerifier(options);
  }

  async authenticate(credential: string): Promise<Principal> {
    const { issuer, subject, payload } = await this.verifier.verify(credential, this.options.audience);
    return {
      id: `jwt:${issuer}#${subject}`,
      kind: 'jwt',
      name: displayNameOf(payload) ?? subject,
      roles: rolesFromClaims(payload, this.options.rolesClaim, this.options.roleMap),
    };
  }
}

function displayNameOf(payload: Record<string, unknown>): string | undefined {
  for (const claim of ['preferred_username', 'email']) {
    const value = payload[claim];
    if (typeof value === 'string' && value.trim() !== '' && value.length <= MAX_NAME_LENGTH) return value;
  }
  return undefined;
}
