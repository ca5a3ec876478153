import type { Role } from './roles.js';

/** How a principal proved who it is. */
export type PrincipalKind = 'api-key' | 'jwt' | 'certificate';

/**
 * An authenticated caller. Never built from a payload or header: only an authenticator (API key table, JWT verified
 * against the issuer's JWKS, TLS client certificate) makes one.
 */
export interface Principal {
  /**
   * Stable, unique name of the caller, recorded as the `actor` of everything it does:
   * `key:<name>/<keyId>`, `jwt:<issuer>#<subject>`, `cert:<subject or fingerprint>`.
   */
  readonly id: string;
  readonly kind: PrincipalKind;
  /** Human-readable name (the key's name, the token's subject, the certificate's CN). */
  readonly name: string;
  readonly roles: readonly Role[];
}

/** What events and audit records name as the actor of a principal's action. */
export const actorOf = (principal: Principal): string => principal.id;
