import { ApproverProof } from './approver-proof.js';
import type { JwtAuthenticator } from './jwt-authenticator.js';

/** The approver proof of an OIDC-configured ledger: same issuer and keys, audience LEDGER_APPROVER_AUDIENCE or the OIDC one. */
export function approverProofOf(
  jwt: JwtAuthenticator | undefined,
  approverAudience: string | undefined,
): ApproverProof | undefined {
  return jwt ? new ApproverProof(jwt.verifier, approverAudience ?? jwt.options.audience) : undefined;
}
