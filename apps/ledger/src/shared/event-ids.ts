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

/**
 * The event id of an ExecutionLogged: derived from the execution id ALONE, so the same execution id under another
 * approval or session maps to the same id, which the store already holds in another stream (an idempotency conflict,
 * not a second execution). Before, the id also covered the stream and the type: `legacyExecutionEventId`, which a
 * retry of an execution recorded then is still recognised by (the store's alias lookup).
 */
export function executionEventId(executionId: string): string {
  return deterministicEventId('execution', executionId);
}

/** The stream-dependent id an ExecutionLogged had before `executionEventId`: kept as the event's alias. */
export function legacyExecutionEventId(streamId: string, executionId: string): string {
  return deterministicEventId(streamId, 'ExecutionLogged', executionId);
}
