import { createHash } from 'node:crypto';
import { ApproverProofInvalidError } from '@audit-ledger/domain';
import { JwtRefusedError } from './identity-provider-errors.js';
import type { JwtVerifier } from './jwt-verifier.js';

/** What a valid approver's assertion proves: who approved, and which token said so (never the token itself). */
export interface VerifiedApprover {
  /** The token's verified `sub`: recorded as `approvedBy`. */
  subject: string;
  /** SHA-256 (hex) of the whole token. */
  assertionHash: string;
}

/** A claim an identity provider may add to bind an assertion to one approval; when present it must name this one. */
const APPROVAL_ID_CLAIM = 'approval_id';

export const assertionHashOf = (assertion: string): string => createHash('sha256').update(assertion).digest('hex');

/**
 * Verifies the approver's own signed assertion (a JWT from the identity provider that authenticated the human who
 * approved) against the OIDC issuer's JWKS and the approver audience (LEDGER_APPROVER_AUDIENCE, default the OIDC one).
 */
export class ApproverProof {
  constructor(
    private readonly verifier: JwtVerifier,
    readonly audience: string,
  ) {}

  /**
   * The verified approver, or ApproverProofInvalidError with the reason; IdentityProviderUnavailableError (503) when
   * the issuer's keys cannot be fetched.
   */
  async verify(assertion: string, approvalId: string): Promise<VerifiedApprover> {
    try {
      const { subject, payload } = await this.verifier.verify(assertion, this.audience);
      const bound = payload[APPROVAL_ID_CLAIM];
      if (bound !== undefined && bound !== approvalId) {
        throw new ApproverProofInvalidError(approvalId, `it is bound to approval ${JSON.stringify(bound)}`);
      }
      return { subject, assertionHash: assertionHashOf(assertion) };
    } catch (error) {
      if (error instanceof JwtRefusedError) throw new ApproverProofInvalidError(approvalId, error.message);
      throw error;
    }
  }
}
