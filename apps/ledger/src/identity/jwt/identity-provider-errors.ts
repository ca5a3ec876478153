import { LedgerError } from '@audit-ledger/domain';
import { UnauthenticatedError } from '@audit-ledger/api-keys';

/** Why a bearer JWT (or an approver's assertion) was refused. */
export type JwtRefusal =
  | 'malformed'
  | 'algorithm_not_allowed'
  | 'unknown_key'
  | 'wrong_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'invalid_claims';

/** A JWT that proves nobody: 401 like every other refused credential, with the reason in `reason` and the message. */
export class JwtRefusedError extends UnauthenticatedError {
  constructor(
    readonly reason: JwtRefusal,
    detail: string,
  ) {
    super(`JWT refused (${reason}): ${detail}`);
  }
}

/**
 * The identity provider's discovery document or key set could not be fetched: nobody can be verified now, which says
 * nothing about the token (503, retry later).
 */
export class IdentityProviderUnavailableError extends LedgerError {
  readonly code = 'AUTH.IDENTITY_PROVIDER_UNAVAILABLE';
}
