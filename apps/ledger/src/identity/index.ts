export { API_KEY_PREFIX, generateApiKey, hashApiKey, looksLikeApiKey, parseApiKey, type NewApiKey } from './api-key.js';
export { ApiKeyAdmin, type KeyRequest } from './api-key-admin.js';
export { ApiKeyAuthenticator, type ApiKeyLookup } from './api-key-authenticator.js';
export { ApiKeyTable, type ApiKeyEntry } from './api-key-table.js';
export { AUTHENTICATOR, ForbiddenError, UnauthenticatedError, type Authenticator } from './authenticator.js';
export { BOOTSTRAP_ACTOR, LOCAL_KEYS, bootstrapLocalKeys, type BootstrapOutcome } from './bootstrap-local-keys.js';
export { CompositeAuthenticator } from './composite-authenticator.js';
export { assertSecretFilesPrivate, SecretFileModeError, secretFilesIn } from './secret-file-modes.js';
export { startIdentity, type IdentityOptions, type RunningIdentity } from './start-identity.js';
