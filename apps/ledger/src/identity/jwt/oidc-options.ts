import { isRole, type Role } from '@audit-ledger/domain';

/**
 * Signature algorithms a bearer JWT may use: asymmetric ones only. `none` proves nothing, and HS* would make the
 * JWKS's public material a signing secret.
 */
export const OIDC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;
export type OidcAlgorithm = (typeof OIDC_ALGORITHMS)[number];

/** What the JWT verifier needs, taken from the ledger's configuration (LEDGER_OIDC_*). */
export interface OidcOptions {
  issuer: string;
  audience: string;
  /** Unset: discovered from `<issuer>/.well-known/openid-configuration`. */
  jwksUrl?: string;
  /** Dotted path of the claim that holds the caller's groups or roles. */
  rolesClaim: string;
  /** IdP group → ledger roles; unset: claim values that are role names are the roles. */
  roleMap?: ReadonlyMap<string, readonly Role[]>;
  algorithms: readonly OidcAlgorithm[];
  clockToleranceSeconds: number;
  /** After a JWKS fetch, how long before an unknown key id may trigger another fetch. */
  jwksCooldownMs: number;
  /** Timeout of a discovery or JWKS request. */
  fetchTimeoutMs?: number;
}

/**
 * Keys fetched over plain HTTP could be swapped by anyone on the path: only `https:`, or `http:` to the loopback
 * interface (a local identity provider, tests). Returns why not, or undefined.
 */
export function insecureKeySourceProblem(url: string): string | undefined {
  const { protocol, hostname } = new URL(url);
  if (protocol === 'https:') return undefined;
  const loopback = hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
  if (protocol === 'http:' && loopback) return undefined;
  return `${url} must be https (plain http only to the loopback interface)`;
}

export interface ParsedRoleMap {
  map: ReadonlyMap<string, readonly Role[]>;
  /** Why the text is not a role map (the first problem found). */
  problem?: string;
}

/** `idp-group=role,…`; a group may repeat to map to several roles. */
export function parseRoleMap(text: string): ParsedRoleMap {
  const map = new Map<string, Role[]>();
  for (const entry of text.split(',')) {
    const trimmed = entry.trim();
    if (trimmed === '') continue;
    const at = trimmed.lastIndexOf('=');
    const group = trimmed.slice(0, at).trim();
    const role = trimmed.slice(at + 1).trim();
    if (at <= 0 || group === '') return { map, problem: `"${trimmed}" is not group=role` };
    if (!isRole(role)) return { map, problem: `"${role}" is not a role (gateway, reader, security, admin)` };
    const roles = map.get(group) ?? [];
    if (!roles.includes(role)) roles.push(role);
    map.set(group, roles);
  }
  if (map.size === 0) return { map, problem: 'names no group=role pair' };
  return { map };
}

/** The OIDC options of a configuration, or undefined when no issuer is configured (JWTs are then refused). */
export function oidcOptionsOf(config: {
  oidcIssuer?: string | undefined;
  oidcAudience?: string | undefined;
  oidcJwksUrl?: string | undefined;
  oidcRolesClaim: string;
  oidcRoleMap?: string | undefined;
  oidcAlgorithms: readonly OidcAlgorithm[];
  oidcClockToleranceSeconds: number;
  oidcJwksCooldownMs: number;
}): OidcOptions | undefined {
  if (!config.oidcIssuer || !config.oidcAudience) return undefined;
  return {
    issuer: config.oidcIssuer,
    audience: config.oidcAudience,
    ...(config.oidcJwksUrl ? { jwksUrl: config.oidcJwksUrl } : {}),
    rolesClaim: config.oidcRolesClaim,
    ...(config.oidcRoleMap ? { roleMap: parseRoleMap(config.oidcRoleMap).map } : {}),
    algorithms: config.oidcAlgorithms,
    clockToleranceSeconds: config.oidcClockToleranceSeconds,
    jwksCooldownMs: config.oidcJwksCooldownMs,
  };
}
