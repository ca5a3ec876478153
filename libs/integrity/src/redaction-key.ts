import { createHmac, hkdfSync } from 'node:crypto';

/** HKDF `info` of the redaction marker key: one configured secret serves token hashes and markers, uncorrelated. */
const REDACTION_KEY_INFO = 'audit-ledger/redaction-marker/v1';

/** A 32-byte key for redaction markers, derived (HKDF-SHA256) from a secret used elsewhere (the token HMAC secret). */
export function deriveRedactionKey(secret: string | Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, new Uint8Array(0), REDACTION_KEY_INFO, 32));
}

/** The keyed digest a marker carries: the first 8 hex of HMAC-SHA256(key, secret). Equal secrets, equal markers. */
export function redactionFingerprint(key: Uint8Array): (secret: string) => string {
  return (secret) => createHmac('sha256', key).update(secret).digest('hex').slice(0, 8);
}
