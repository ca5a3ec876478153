import { parseRoleMap } from './oidc-options.js';
import { rolesFromClaims } from './role-claims.js';

describe('rolesFromClaims', () => {
  it('reads a list, or a space-separated string, at a dotted path; ignores anything else', () => {
    expect(rolesFromClaims({ roles: ['reader', 'gateway', 'reader', 7] }, 'roles', undefined)).toEqual([
      'gateway',
      'reader',
    ]);
    expect(rolesFromClaims({ scope: 'openid security profile' }, 'scope', undefined)).toEqual(['security']);
    expect(rolesFromClaims({ realm_access: { roles: ['admin'] } }, 'realm_access.roles', undefined)).toEqual(['admin']);
    expect(
      rolesFromClaims({ 'https://ledger.example/roles': ['admin'] }, 'https://ledger.example/roles', undefined),
    ).toEqual(['admin']);
    expect(rolesFromClaims({ roles: { admin: true } }, 'roles', undefined)).toEqual([]);
    expect(rolesFromClaims({}, 'roles', undefined)).toEqual([]);
  });

  it('with a role map, counts only mapped groups', () => {
    const { map } = parseRoleMap('ops=gateway, soc=security,soc=admin');
    expect(rolesFromClaims({ groups: ['soc', 'admin', 'ops'] }, 'groups', map)).toEqual([
      'admin',
      'gateway',
      'security',
    ]);
    expect(rolesFromClaims({ groups: ['admin'] }, 'groups', map)).toEqual([]);
  });
});
