export { JwtAuthenticator } from './jwt-authenticator.js';
export { JwtRefusedError, IdentityProviderUnavailableError, type JwtRefusal } from './identity-provider-errors.js';
export { oidcOptionsOf, type OidcOptions } from './oidc-options.js';
export { JWT_AUTHENTICATOR, APPROVER_PROOF } from './jwt.tokens.js';
export { approverProofOf } from './approver-proof.factory.js';
