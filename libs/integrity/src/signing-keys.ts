import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

/**
 * Ed25519 keys of checkpoint signatures. A key id is the first 16 hex characters of SHA-256 over the 32-byte raw
 * public key. Keys are read from PEM (PKCS#8 private, SPKI public) or from the raw 32 bytes in base64.
 */
export class InvalidSigningKeyError extends Error {
  readonly code = 'INTEGRITY.INVALID_KEY';
}

export interface SigningKey {
  keyId: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface GeneratedKeyPair {
  keyId: string;
  privateKeyPem: string;
  publicKeyPem: string;
  /** The raw 32-byte public key, base64. */
  publicKeyRaw: string;
}

/** Public keys by key id: the current one and every retired one (rotation never drops a key). */
export type PublicKeyRing = ReadonlyMap<string, KeyObject>;

export function rawPublicKey(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new InvalidSigningKeyError('not an Ed25519 key');
  return Buffer.from(jwk.x, 'base64url');
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(rawPublicKey(publicKey)).digest('hex').slice(0, 16);
}

export function generateSigningKeyPair(): GeneratedKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    keyId: keyIdOf(publicKey),
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    publicKeyRaw: rawPublicKey(publicKey).toString('base64'),
  };
}

const isPem = (text: string) => text.includes('-----BEGIN');

/** A private key from PKCS#8 PEM or a raw 32-byte seed in base64. */
export function parseSigningKey(text: string): SigningKey {
  let privateKey: KeyObject;
  try {
    if (isPem(text)) {
      privateKey = createPrivateKey(text);
    } else {
      const seed = Buffer.from(text.trim(), 'base64');
      if (seed.length !== 32) throw new InvalidSigningKeyError(`a raw Ed25519 seed has 32 bytes, not ${seed.length}`);
      // PKCS#8 of Ed25519 = a fixed 16-byte prefix ‖ the seed (RFC 8410).
      const prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
      privateKey = createPrivateKey({ key: Buffer.concat([prefix, seed]), format: 'der', type: 'pkcs8' });
    }
  } catch (error) {
    if (error instanceof InvalidSigningKeyError) throw error;
    throw new InvalidSigningKeyError(`cannot read the signing key: ${(error as Error).message}`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new InvalidSigningKeyError(`the signing key is ${privateKey.asymmetricKeyType}, not ed25519`);
  }
  const publicKey = createPublicKey(privateKey);
  return { keyId: keyIdOf(publicKey), privateKey, publicKey };
}

/** A public key from SPKI PEM or the raw 32 bytes in base64. */
export function parsePublicKey(text: string): KeyObject {
  let publicKey: KeyObject;
  try {
    if (isPem(text)) {
      publicKey = createPublicKey(text);
    } else {
      const raw = Buffer.from(text.trim(), 'base64');
      if (raw.length !== 32)
        throw new InvalidSigningKeyError(`a raw Ed25519 public key has 32 bytes, not ${raw.length}`);
      publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
    }
  } catch (error) {
    if (error instanceof InvalidSigningKeyError) throw error;
    throw new InvalidSigningKeyError(`cannot read the public key: ${(error as Error).message}`);
  }
  if (publicKey.asymmetricKeyType !== 'ed25519') {
    throw new InvalidSigningKeyError(`the public key is ${publicKey.asymmetricKeyType}, not ed25519`);
  }
  return publicKey;
}

export function publicKeyRing(keys: Iterable<KeyObject>): PublicKeyRing {
  const ring = new Map<string, KeyObject>();
  for (const key of keys) ring.set(keyIdOf(key), key);
  return ring;
}
