import { createHash, randomBytes } from 'node:crypto';

/**
 * API keys: `alk_<keyId>_<secret>`. The prefix lets secret scanners find leaked keys; the key id (12 characters of
 * lowercase base32, public: it names the key in lists and events) finds the stored hash; the secret is 32 random bytes
 * in base64url. Only the SHA-256 (hex) of the whole key is stored.
 */
export const API_KEY_PREFIX = 'alk_';

const KEY_ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const KEY_ID_LENGTH = 12;
const SECRET_BYTES = 32;
/** base64url of 32 bytes, without padding. */
const SECRET_LENGTH = 43;
const API_KEY_PATTERN = /^alk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export interface NewApiKey {
  keyId: string;
  /** The whole key: shown once to whoever asked for it, never stored. */
  key: string;
  keyHash: string;
}

export function newKeyId(): string {
  const bytes = randomBytes(KEY_ID_LENGTH);
  return Array.from(bytes, (byte) => KEY_ID_ALPHABET[byte & 31]).join('');
}

export function generateApiKey(keyId: string = newKeyId()): NewApiKey {
  const key = `${API_KEY_PREFIX}${keyId}_${randomBytes(SECRET_BYTES).toString('base64url')}`;
  return { keyId, key, keyHash: hashApiKey(key) };
}

/** SHA-256 (hex) of the whole key, as stored in `ApiKeyIssued.keyHash`. */
export const hashApiKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/** Whether a credential claims to be an API key (and not a JWT): the dispatch of the composite authenticator. */
export const looksLikeApiKey = (credential: string): boolean => credential.startsWith(API_KEY_PREFIX);

/** The key id of a well-formed API key, or undefined when it is not one. */
export function parseApiKey(credential: string): { keyId: string } | undefined {
  if (credential.length !== API_KEY_PREFIX.length + KEY_ID_LENGTH + 1 + SECRET_LENGTH) return undefined;
  const match = API_KEY_PATTERN.exec(credential);
  return match ? { keyId: match[1]! } : undefined;
}
