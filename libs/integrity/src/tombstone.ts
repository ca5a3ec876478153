import { createHash, sign, verify } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import type { PublicKeyRing, SigningKey } from './signing-keys.js';

/**
 * A signed tombstone (issue 13): the statement that the global positions fromPosition..toPosition were archived and
 * left the database. Signed like a checkpoint: Ed25519 over utf8(JCS(every member but tombstoneHash and signature)),
 * tombstoneHash = hex SHA-256 of the same bytes (docs/integrity.md §12).
 */
export interface SignedTombstone {
  keyId: string;
  tombstoneHash: string;
  signature: string;
  [member: string]: unknown;
}

function signedBytes(tombstone: Record<string, unknown>): Buffer {
  const fields = Object.fromEntries(
    Object.entries(tombstone).filter(([name]) => name !== 'tombstoneHash' && name !== 'signature'),
  );
  return Buffer.from(canonicalJson(fields), 'utf8');
}

export function signTombstone<T extends Record<string, unknown>>(
  fields: T,
  key: SigningKey,
): T & { keyId: string; tombstoneHash: string; signature: string } {
  const complete = { ...fields, keyId: key.keyId };
  const bytes = signedBytes(complete);
  return {
    ...complete,
    tombstoneHash: createHash('sha256').update(bytes).digest('hex'),
    signature: sign(null, bytes, key.privateKey).toString('base64'),
  };
}

/** Null when the tombstone hashes to its tombstoneHash and its signature verifies with the key it names. */
export function checkTombstoneSignature(tombstone: SignedTombstone, keys: PublicKeyRing): string | null {
  const bytes = signedBytes(tombstone);
  if (createHash('sha256').update(bytes).digest('hex') !== tombstone.tombstoneHash) {
    return 'its members do not hash to its tombstoneHash';
  }
  const key = keys.get(tombstone.keyId);
  if (!key) return `it is signed by key ${tombstone.keyId}, which is not among the public keys`;
  try {
    if (verify(null, bytes, key, Buffer.from(tombstone.signature, 'base64'))) return null;
  } catch {
    // a malformed signature is a bad one
  }
  return `its Ed25519 signature does not verify with key ${tombstone.keyId}`;
}
