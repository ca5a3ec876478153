import { ROLES, type Principal, type Role } from '@audit-ledger/domain';
import { UnauthenticatedError, type Authenticator } from '../../apps/ledger/src/index.js';

/** Who a test calls as: one role, every role at once (the suites' default), or no credential at all. */
export type TestCaller = Role | 'all';
export const TEST_CALLERS: readonly TestCaller[] = [...ROLES, 'all'];

/** One credential per test caller. */
export type TestCredentials = Readonly<Record<TestCaller, string>>;

const keyOf = (caller: TestCaller) => `alk_test${caller.padEnd(8, '0').slice(0, 8)}_${caller}-secret`;

export const TEST_CREDENTIALS: TestCredentials = Object.fromEntries(
  TEST_CALLERS.map((caller) => [caller, keyOf(caller)]),
) as Record<TestCaller, string>;

const principalOf = (caller: TestCaller): Principal => ({
  id: `key:test-${caller}/test${caller.padEnd(8, '0').slice(0, 8)}`,
  kind: 'api-key',
  name: `test-${caller}`,
  roles: caller === 'all' ? ['gateway', 'security', 'admin'] : [caller],
});

/** The actor recorded for a test caller's actions. */
export const testActorOf = (caller: TestCaller): string => principalOf(caller).id;

/** Authenticates the fixed test credentials (until the key table is the ledger's own). */
export const testAuthenticator: Authenticator = {
  authenticate(credential) {
    const caller = TEST_CALLERS.find((one) => TEST_CREDENTIALS[one] === credential);
    return caller ? Promise.resolve(principalOf(caller)) : Promise.reject(new UnauthenticatedError('unknown API key'));
  },
};
