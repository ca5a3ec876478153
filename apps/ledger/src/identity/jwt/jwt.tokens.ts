/** The JwtAuthenticator when OIDC is configured (LEDGER_OIDC_ISSUER), else null. */
export const JWT_AUTHENTICATOR = Symbol('JWT_AUTHENTICATOR');
/** The ApproverProof (verifies a grant's `approverAssertion`) when OIDC is configured, else null. */
export const APPROVER_PROOF = Symbol('APPROVER_PROOF');
