export {
  API_KEY_PREFIX,
  generateApiKey,
  hashApiKey,
  looksLikeApiKey,
  newKeyId,
  parseApiKey,
  type NewApiKey,
} from './api-key.js';
export { ApiKeyAuthenticator, type ApiKeyLookup } from './api-key-authenticator.js';
export { ApiKeyTable, type ApiKeyEntry } from './api-key-table.js';
export * from './authenticator.js';
