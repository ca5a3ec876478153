import { z } from 'zod';

/** Ids end up in stream names (`approval-<id>`): a conservative alphabet keeps them unambiguous in URLs and SQL. */
export const Identifier = z
  .string()
  .min(1)
  .max(128)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._:@-]*$/,
    'must start with a letter or digit and use only letters, digits and . _ : @ -',
  );

export const Uuid = z.uuid();

/** UTC instant as ISO-8601 with an explicit offset; stored normalised to `Z`. */
export const UtcTimestamp = z.iso.datetime({ offset: true }).transform((value) => new Date(value).toISOString());

export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters (SHA-256)');

export const RiskLevel = z.enum(['safe', 'moderate', 'destructive', 'critical']);
export type RiskLevel = z.infer<typeof RiskLevel>;

export const PrincipalName = z.string().min(1).max(256);
