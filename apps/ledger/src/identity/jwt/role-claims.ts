import { isRole, type Role } from '@audit-ledger/domain';

/** The value at a dotted claim path (`realm_access.roles`); a claim whose own name holds a dot is found too. */
function claimAt(payload: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(payload, path)) return payload[path];
  let value: unknown = payload;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** A list claim, or a space-separated string (as `scope`). Anything else holds no values. */
function valuesOf(claim: unknown): string[] {
  if (typeof claim === 'string') return claim.split(/\s+/).filter((one) => one !== '');
  if (Array.isArray(claim)) return claim.filter((one): one is string => typeof one === 'string');
  return [];
}

/**
 * The ledger roles a token's claim grants: through the role map when one is configured (only mapped groups count),
 * else the claim values that are role names. No mapped value: no roles (the token still authenticates).
 */
export function rolesFromClaims(
  payload: Record<string, unknown>,
  claimPath: string,
  roleMap: ReadonlyMap<string, readonly Role[]> | undefined,
): Role[] {
  const roles = new Set<Role>();
  for (const value of valuesOf(claimAt(payload, claimPath))) {
    if (roleMap) for (const role of roleMap.get(value) ?? []) roles.add(role);
    else if (isRole(value)) roles.add(value);
  }
  return [...roles].sort();
}
