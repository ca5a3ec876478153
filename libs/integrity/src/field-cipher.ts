import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/**
 * Sensitive fields of an event stored encrypted (crypto-shredding, docs/security.md "Payload encryption"): AES-256-GCM
 * under a per-stream data key, as one string `enc:v1:<keyId>:<iv>:<ciphertext+tag>` (base64url), so the event's hash
 * covers the ciphertext and verification never needs the plaintext.
 *
 * The IV is synthetic: HMAC-SHA256(key, aad ‖ plaintext) cut to 96 bits. The same field of the same event under the
 * same key always encrypts to the same text, so a retried command still compares equal to the stored one
 * (idempotency), and an IV is reused only for the very same (aad, plaintext), which reveals nothing new. The AAD binds
 * a ciphertext to its place (stream, execution, field): moved elsewhere it does not decrypt.
 */
export const SEALED_FIELD_PREFIX = 'enc:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const DATA_KEY_BYTES = 32;

export const isSealedField = (value: unknown): value is string =>
  typeof value === 'string' && value.startsWith(SEALED_FIELD_PREFIX);

/** The key id a sealed field names, or undefined when `value` is no sealed field. */
export function sealedFieldKeyId(value: unknown): string | undefined {
  if (!isSealedField(value)) return undefined;
  const keyId = value.slice(SEALED_FIELD_PREFIX.length).split(':', 1)[0];
  return keyId || undefined;
}

export function sealField(key: Buffer, keyId: string, aad: string, plaintext: string): string {
  if (key.length !== DATA_KEY_BYTES) throw new Error(`a data key has ${DATA_KEY_BYTES} bytes, not ${key.length}`);
  if (keyId.includes(':')) throw new Error(`a key id may not hold ':' (${keyId})`);
  const iv = createHmac('sha256', key).update(`${aad}\u0000${plaintext}`).digest().subarray(0, IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${SEALED_FIELD_PREFIX}${keyId}:${iv.toString('base64url')}:${body.toString('base64url')}`;
}

export class SealedFieldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealedFieldError';
  }
}

/** Throws SealedFieldError when the text is malformed, was sealed under another key, or was moved or edited. */
export function openField(key: Buffer, aad: string, sealed: string): string {
  const parts = sealed.slice(SEALED_FIELD_PREFIX.length).split(':');
  if (!isSealedField(sealed) || parts.length !== 3) throw new SealedFieldError('not a sealed field');
  const iv = Buffer.from(parts[1]!, 'base64url');
  const body = Buffer.from(parts[2]!, 'base64url');
  if (iv.length !== IV_BYTES || body.length < TAG_BYTES) throw new SealedFieldError('malformed sealed field');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    throw new SealedFieldError('the sealed field does not open with its key and place (moved or edited)');
  }
}

/** A fresh data key wrapped under the master key: AES-256-GCM with a random IV, `iv ‖ ciphertext ‖ tag`. */
export function wrapDataKey(masterKey: Buffer, dataKey: Buffer, keyId: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', masterKey, iv);
  cipher.setAAD(Buffer.from(keyId, 'utf8'));
  return Buffer.concat([iv, cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]);
}

export function unwrapDataKey(masterKey: Buffer, wrapped: Buffer, keyId: string): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', masterKey, wrapped.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(keyId, 'utf8'));
  decipher.setAuthTag(wrapped.subarray(wrapped.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(wrapped.subarray(IV_BYTES, wrapped.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new SealedFieldError(`data key ${keyId} does not unwrap with this master key (another master key?)`);
  }
}
