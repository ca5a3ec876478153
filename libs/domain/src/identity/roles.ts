/**
 * The roles of the ledger's three users and its administrators (docs/security.md):
 * - `gateway`: grants, rejects and revokes approvals, logs executions;
 * - `reader`: queries, summaries, exports, the alert stream (dashboards);
 * - `security`: everything a reader may, plus replay, verification, evidence, mismatch review, re-reconciliation;
 * - `admin`: principals and their keys.
 */
export const ROLES = ['gateway', 'reader', 'security', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Roles that include others: a security principal reads too. */
const INCLUDES: Readonly<Record<Role, readonly Role[]>> = {
  gateway: [],
  reader: [],
  security: ['reader'],
  admin: [],
};

export const isRole = (value: unknown): value is Role => typeof value === 'string' && ROLES.includes(value as Role);

/** Whether a principal holding `held` may do what `required` allows. */
export function holdsRole(held: readonly Role[], required: Role): boolean {
  return held.some((role) => role === required || INCLUDES[role].includes(required));
}

/** Whether a principal holding `held` may do what any of `anyOf` allows. */
export const holdsAnyRole = (held: readonly Role[], anyOf: readonly Role[]): boolean =>
  anyOf.some((required) => holdsRole(held, required));
