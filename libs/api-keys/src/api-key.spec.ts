import { createHash } from 'node:crypto';
import { generateApiKey, hashApiKey, looksLikeApiKey, newKeyId, parseApiKey } from './api-key.js';

describe('API keys', () => {
  it('look like alk_<12-character key id>_<43-character base64url secret>, and parse back to their key id', () => {
    const { keyId, key } = generateApiKey();
    expect(key).toMatch(/^alk_[a-z2-7]{12}_[A-Za-z0-9_-]{43}$/);
    expect(key.startsWith(`alk_${keyId}_`)).toBe(true);
    expect(parseApiKey(key)).toEqual({ keyId });
    expect(looksLikeApiKey(key)).toBe(true);
  });

  it('store the SHA-256 (hex) of the whole key', () => {
    const { key, keyHash } = generateApiKey();
    expect(keyHash).toBe(createHash('sha256').update(key).digest('hex'));
    expect(hashApiKey(key)).toBe(keyHash);
  });

  it('draw a different id and secret every time', () => {
    const keys = Array.from({ length: 200 }, () => generateApiKey());
    expect(new Set(keys.map((one) => one.keyId)).size).toBe(200);
    expect(new Set(keys.map((one) => one.key.slice(17))).size).toBe(200);
    expect(newKeyId()).toMatch(/^[a-z2-7]{12}$/);
  });

  it.each([
    ['no prefix', `xyz_${'a'.repeat(12)}_${'A'.repeat(43)}`],
    ['a short key id', `alk_${'a'.repeat(11)}_${'A'.repeat(44)}`],
    ['an upper-case key id', `alk_${'A'.repeat(12)}_${'A'.repeat(43)}`],
    ['a short secret', `alk_${'a'.repeat(12)}_${'A'.repeat(42)}`],
    ['a long secret', `alk_${'a'.repeat(12)}_${'A'.repeat(44)}`],
    ['a secret outside base64url', `alk_${'a'.repeat(12)}_${'A'.repeat(42)}+`],
    ['trailing whitespace', `alk_${'a'.repeat(12)}_${'A'.repeat(43)} `],
  ])('refuse to parse a credential with %s', (_label, credential) => {
    expect(parseApiKey(credential)).toBeUndefined();
  });

  it('tell API keys from JWTs by their prefix', () => {
    expect(looksLikeApiKey('eyJhbGciOiJFUzI1NiJ9.e30.sig')).toBe(false);
  });
});
