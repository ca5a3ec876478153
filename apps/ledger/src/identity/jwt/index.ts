export { JwtAuthenticator } from './jwt-authenticator.js';
export { JwtVerifier, MAX_JWT_LENGTH, type VerifiedJwt } from './jwt-verifier.js';
export { ApproverProof, APPROVAL_ID_CLAIM, assertionHashOf, type VerifiedApprover } from './approver-proof.js';
export { JwtRefusedError, IdentityProviderUnavailableError, type JwtRefusal } from './identity-provider-errors.js';
export { discoverJwksUrl, discoveryUrlOf } from './jwks-source.js';
export { OIDC_ALGORITHMS, oidcOptionsOf, parseRoleMap, type OidcAlgorithm, type OidcOptions } from './oidc-options.js';
export { rolesFromClaims } from './role-claims.js';
export { JWT_AUTHENTICATOR, APPROVER_PROOF } from './jwt.tokens.js';
export { approverProofOf } from './approver-proof.factory.js';
