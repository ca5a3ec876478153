import { createHash, createHmac } from 'node:crypto';

export function sha256Hex(input: string | Uint8Array): string {
  return createHash('sha256').update(input).digest('hex');
}

/** Token hashes are keyed (design invariant 6): a bare SHA-256 of a short token is brute-forceable. */
export function hmacSha256Hex(key: string | Uint8Array, input: string | Uint8Array): string {
  return createHmac('sha256', key).update(input).digest('hex');
}
