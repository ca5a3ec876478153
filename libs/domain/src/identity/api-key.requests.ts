import { z } from 'zod';
import { ApiKeyName } from './api-key.events.js';

/** `POST /v1/principals/keys`: a new key for a name not held by an active key, with one or more roles. */
export const IssueApiKeyRequest = z
  .object({
    name: ApiKeyName,
    roles: z.array(z.string().min(1).max(64)).min(1).max(16),
  })
  .strict();

/** `POST /v1/principals/keys/:keyId/revoke` and `/rotate`: an optional reason, recorded in the event. */
export const ApiKeyChangeRequest = z
  .object({
    reason: z.string().min(1).max(4096).optional(),
  })
  .strict();

export type IssueApiKeyRequest = z.infer<typeof IssueApiKeyRequest>;
export type ApiKeyChangeRequest = z.infer<typeof ApiKeyChangeRequest>;

/** The answer to issue and rotate: the only time the key itself is shown. */
export const IssuedApiKey = z.object({
  keyId: z.string(),
  name: z.string(),
  roles: z.array(z.string()),
  principalId: z.string(),
  issuedAt: z.string(),
  rotatedFrom: z.string().optional(),
  /** The API key: shown once, never stored (only its SHA-256). */
  key: z.string(),
});
export type IssuedApiKey = z.infer<typeof IssuedApiKey>;

/** One key as listed: never its hash, never the key. */
export const ApiKeySummary = z.object({
  keyId: z.string(),
  name: z.string(),
  roles: z.array(z.string()),
  principalId: z.string(),
  status: z.enum(['active', 'revoked']),
  issuedAt: z.string(),
  issuedBy: z.string().optional(),
  rotatedFrom: z.string().optional(),
  revokedAt: z.string().optional(),
  revokedBy: z.string().optional(),
  revokeReason: z.string().optional(),
});
export type ApiKeySummary = z.infer<typeof ApiKeySummary>;

export const ApiKeyList = z.object({ keys: z.array(ApiKeySummary) });
export type ApiKeyList = z.infer<typeof ApiKeyList>;

/** The principal id of an API key: `key:<name>/<keyId>`. */
export const apiKeyPrincipalId = (name: string, keyId: string): string => `key:${name}/${keyId}`;
