import { InvalidAppendError } from './errors.js';
import type { ExpectedRevision } from './event-store.port.js';

// Checks on an append's input that every adapter makes the same way (the contract suite expects the same errors).

export function isExpectedRevision(value: unknown): value is ExpectedRevision {
  if (value === 'any' || value === 'no_stream' || value === 'stream_exists') return true;
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** A JSON object as it will read back from the store (hashes are computed over this copy). */
export function jsonObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidAppendError(`${what} must be a JSON object`);
  }
  let copy: unknown;
  try {
    copy = JSON.parse(JSON.stringify(value));
  } catch (error) {
    throw new InvalidAppendError(`${what} is not serialisable as JSON`, { cause: error });
  }
  if (typeof copy !== 'object' || copy === null || Array.isArray(copy)) {
    throw new InvalidAppendError(`${what} must serialise to a JSON object`);
  }
  return copy as Record<string, unknown>;
}
