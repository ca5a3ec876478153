import { ROLES, type Role } from '@audit-ledger/domain';
import { readLocalCredentials } from '@audit-ledger/client';
import type { RunningLedger } from '../../apps/ledger/src/index.js';

/** Who a test calls as: one role, every role at once (the suites' default), or no credential at all. */
export type TestCaller = Role | 'all';
const TEST_CALLERS: readonly TestCaller[] = [...ROLES, 'all'];

/** One real API key per test caller, and the principal id each is recorded as. */
export interface TestCredentials extends Readonly<Record<TestCaller, string>> {
  readonly actors: Readonly<Record<TestCaller, string>>;
}

const ROLES_OF: Record<TestCaller, Role[]> = {
  gateway: ['gateway'],
  reader: ['reader'],
  security: ['security'],
  admin: ['admin'],
  all: ['gateway', 'security', 'admin'],
};

/**
 * Real API keys of a running test ledger: one per role and one holding every role, issued through its key
 * administration (events of the `principals` stream, as `ledger keys issue` records them). The ledger's first start
 * wrote its local keys into its data directory; those are checked to be there too.
 */
export async function issueTestCredentials(ledger: RunningLedger): Promise<TestCredentials> {
  const local = readLocalCredentials(ledger.config.dataDir);
  const keys = {} as Record<TestCaller, string>;
  const actors = {} as Record<TestCaller, string>;
  for (const caller of TEST_CALLERS) {
    const known = local?.keys.find((key) => key.roles.length === 1 && key.roles[0] === caller && caller !== 'all');
    if (known) {
      keys[caller] = known.key;
      actors[caller] = await ledger.authenticator.authenticate(known.key).then((principal) => principal.id);
      continue;
    }
    const issued = await ledger.apiKeyAdmin.issue({ name: `test-${caller}`, roles: ROLES_OF[caller] }, 'test:setup');
    keys[caller] = issued.key;
    actors[caller] = issued.principalId;
  }
  return { ...keys, actors };
}

const allRolesKeys = new WeakMap<RunningLedger, Promise<string>>();

/** `{ authorization }` with a key holding every role, issued once per ledger (for suites that start it themselves). */
export async function allRolesHeaders(ledger: RunningLedger): Promise<Record<string, string>> {
  let key = allRolesKeys.get(ledger);
  if (!key) {
    key = ledger.apiKeyAdmin
      .issue({ name: `test-all-${ledger.httpPort}`, roles: ROLES_OF.all }, 'test:setup')
      .then((issued) => issued.key);
    allRolesKeys.set(ledger, key);
  }
  return { authorization: `Bearer ${await key}` };
}

/** `{ authorization }` with the key for `role` that a ledger's first start wrote into `dataDir` (for spawned ledgers). */
export function localBearer(dataDir: string, role: 'gateway' | 'security' | 'admin'): Record<string, string> {
  const key = readLocalCredentials(dataDir)?.keys.find((one) => one.roles.includes(role))?.key;
  if (!key) throw new Error(`no ${role} key in ${dataDir}/credentials`);
  return { authorization: `Bearer ${key}` };
}
