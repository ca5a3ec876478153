import { createHash } from 'node:crypto';

/**
 * The event id of a command's event is derived from its idempotency key (approval id, execution id), so a retried
 * command carries the same event id and the store appends it once. Formatted as an RFC 9562 version-8 UUID.
 */
export function deterministicEventId(...parts: string[]): string {
  const bytes = createHash('sha256').update(parts.join('\u0000')).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
