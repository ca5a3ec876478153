import { LedgerError, type Principal } from '@audit-ledger/domain';

/** Turns a presented credential (API key or bearer JWT) into a principal, or refuses it. */
export interface Authenticator {
  /** Throws UnauthenticatedError (with the reason) when the credential is unknown, revoked, expired or invalid. */
  authenticate(credential: string): Promise<Principal>;
}

export const AUTHENTICATOR = Symbol('AUTHENTICATOR');

/** No credential, or one that proves nobody: HTTP 401, the same code over TCP and NATS. */
export class UnauthenticatedError extends LedgerError {
  readonly code = 'AUTH.UNAUTHENTICATED';
}

/** An authenticated principal without the role the route or pattern requires: HTTP 403. */
export class ForbiddenError extends LedgerError {
  readonly code = 'AUTH.FORBIDDEN';
}
