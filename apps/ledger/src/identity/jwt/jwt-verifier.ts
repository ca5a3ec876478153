import { errors, jwtVerify, type JWTPayload } from 'jose';
import { IdentityProviderUnavailableError, JwtRefusedError } from './identity-provider-errors.js';
import { JwksSource } from './jwks-source.js';
import type { OidcOptions } from './oidc-options.js';

/** A JWT whose signature, issuer, audience and times were checked: its claims, with `sub` present. */
export interface VerifiedJwt {
  issuer: string;
  subject: string;
  payload: JWTPayload;
}

/** Longer than any identity provider's token, short enough that a hostile header cannot make the ledger work hard. */
const MAX_JWT_LENGTH = 16_384;
const MAX_SUBJECT_LENGTH = 255;

/** Verifies compact JWS JWTs against one issuer's JWKS, for any audience the caller names. */
export class JwtVerifier {
  private readonly keys: JwksSource;

  constructor(readonly options: OidcOptions) {
    this.keys = new JwksSource(options);
  }

  /**
   * The verified token, or JwtRefusedError naming why not (expired, wrong signature, wrong audience, wrong issuer,
   * unknown key id, malformed, …); IdentityProviderUnavailableError when the keys cannot be fetched.
   */
  async verify(token: string, audience: string): Promise<VerifiedJwt> {
    if (token.length > MAX_JWT_LENGTH)
      throw new JwtRefusedError('malformed', `longer than ${MAX_JWT_LENGTH} characters`);
    try {
      const { payload } = await jwtVerify(token, this.keys.getKey, {
        issuer: this.options.issuer,
        audience,
        algorithms: [...this.options.algorithms],
        clockTolerance: this.options.clockToleranceSeconds,
        requiredClaims: ['sub', 'exp'],
      });
      const subject = payload.sub;
      if (typeof subject !== 'string' || subject.length === 0 || subject.length > MAX_SUBJECT_LENGTH) {
        throw new JwtRefusedError('invalid_claims', `"sub" must be a string of 1 to ${MAX_SUBJECT_LENGTH} characters`);
      }
      return { issuer: this.options.issuer, subject, payload };
    } catch (error) {
      throw refusalOf(error);
    }
  }
}

/** jose's errors as the ledger's: the reason, and a message that says what to fix. */
function refusalOf(error: unknown): Error {
  if (error instanceof JwtRefusedError || error instanceof IdentityProviderUnavailableError) return error;
  if (error instanceof errors.JWTExpired) return new JwtRefusedError('expired', `the token expired (${error.message})`);
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'iss':
        return new JwtRefusedError('wrong_issuer', `the token's issuer is not the configured one (${error.message})`);
      case 'aud':
        return new JwtRefusedError('wrong_audience', `the token is not meant for this audience (${error.message})`);
      case 'nbf':
        return new JwtRefusedError('not_yet_valid', `the token is not valid yet (${error.message})`);
      default:
        return new JwtRefusedError('invalid_claims', error.message);
    }
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new JwtRefusedError('wrong_signature', "the signature does not verify with the issuer's key");
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return new JwtRefusedError('unknown_key', "no key of the issuer's key set matches the token's key id");
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return new JwtRefusedError('algorithm_not_allowed', `the token's algorithm is not accepted (${error.message})`);
  }
  if (
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JOSENotSupported ||
    error instanceof errors.JWKInvalid
  ) {
    return new JwtRefusedError('malformed', error.message);
  }
  // The key set could not be fetched (timeout, refused connection, not 200, not JSON).
  return new IdentityProviderUnavailableError(
    `The identity provider's key set could not be read (${(error as Error).message}); retry later`,
  );
}
