import { z } from 'zod';
import { Sha256Hex, UtcTimestamp } from '../shared/primitives.js';

// Storage contract of the `principals` stream: what the ledger has written and must read forever. Add optional fields
// only; anything else is a new schemaVersion with an upcaster.

/** The one stream of principals: issuing, rotating and revoking API keys, hash-chained like every other stream. */
export const PRINCIPALS_STREAM = 'principals';

/** The public part of an API key (`alk_<keyId>_<secret>`): 12 lowercase letters or digits. */
export const ApiKeyId = z.string().regex(/^[a-z0-9]{12}$/, 'must be 12 lowercase letters or digits');

/** A key's name: part of its principal id (`key:<name>/<keyId>`), so no `/` and nothing a log line would garble. */
export const ApiKeyName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must start with a letter or digit and use only letters, digits and . _ -');

/** Role names as stored: the decider admits only known roles; readers skip roles they do not know. */
export const StoredRoles = z.array(z.string().min(1).max(64)).min(1).max(16);

export const ApiKeyIssuedData = z
  .object({
    keyId: ApiKeyId,
    name: ApiKeyName,
    roles: StoredRoles,
    /** SHA-256 (hex) of the whole key; the key itself is never stored. */
    keyHash: Sha256Hex,
    issuedAt: UtcTimestamp,
    /** Set when this key replaces another (rotation): the old key is revoked in the same append. */
    rotatedFrom: ApiKeyId.optional(),
  })
  .strict();

export const ApiKeyRevokedData = z
  .object({
    keyId: ApiKeyId,
    revokedAt: UtcTimestamp,
    reason: z.string().min(1).max(4096).optional(),
  })
  .strict();

export type ApiKeyIssuedData = z.infer<typeof ApiKeyIssuedData>;
export type ApiKeyRevokedData = z.infer<typeof ApiKeyRevokedData>;

/** Stored `type` strings: literals, never class names. */
export type PrincipalsStreamEvent =
  { type: 'ApiKeyIssued'; data: ApiKeyIssuedData } | { type: 'ApiKeyRevoked'; data: ApiKeyRevokedData };

export const PRINCIPALS_STREAM_EVENT_SCHEMAS = {
  ApiKeyIssued: ApiKeyIssuedData,
  ApiKeyRevoked: ApiKeyRevokedData,
} as const;

export type PrincipalsStreamEventType = keyof typeof PRINCIPALS_STREAM_EVENT_SCHEMAS;

export function isPrincipalsStreamEventType(type: string): type is PrincipalsStreamEventType {
  return Object.hasOwn(PRINCIPALS_STREAM_EVENT_SCHEMAS, type);
}

/** A stored event of the `principals` stream, validated; undefined for types this version does not know. */
export function parsePrincipalsEvent(type: string, data: unknown): PrincipalsStreamEvent | undefined {
  if (type === 'ApiKeyIssued') return { type, data: ApiKeyIssuedData.parse(data) };
  if (type === 'ApiKeyRevoked') return { type, data: ApiKeyRevokedData.parse(data) };
  return undefined;
}
