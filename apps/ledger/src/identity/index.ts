export * from './access.js';
export { AccessGuard, UndeclaredAccessError, describeTarget } from './access-guard.js';
export { ACCESS_REFUSED, AccessRefusals, REFUSAL_RECORD_WINDOW_MS, type RefusalCounts } from './access-refusals.js';
export * from './authenticator.js';
export * from './connection-principal.js';
export { packetCredentialOf, takePacketCredential } from './packet-credentials.js';
export { entranceOf, presentedCredential, type Entrance } from './presented-credential.js';
