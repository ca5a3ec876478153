import { loadConfig } from './ledger.config.js';

const issuer = 'https://idp.example.test/realms/ops';

describe('OIDC configuration', () => {
  it('is off without an issuer, and parses every option with one', () => {
    expect(loadConfig({}, {}).oidcIssuer).toBeUndefined();
    const config = loadConfig(
      {},
      {
        LEDGER_OIDC_ISSUER: issuer,
        LEDGER_OIDC_AUDIENCE: 'audit-ledger',
        LEDGER_OIDC_ALGORITHMS: 'RS256, ES256',
        LEDGER_OIDC_ROLE_MAP: 'ops=gateway',
        LEDGER_OIDC_CLOCK_TOLERANCE_SECONDS: '5',
        LEDGER_APPROVER_AUDIENCE: 'approvals',
        LEDGER_REQUIRE_APPROVER_PROOF: 'true',
      },
    );
    expect(config).toMatchObject({
      oidcIssuer: issuer,
      oidcAudience: 'audit-ledger',
      oidcAlgorithms: ['RS256', 'ES256'],
      oidcRolesClaim: 'roles',
      oidcClockToleranceSeconds: 5,
      approverAudience: 'approvals',
      requireApproverProof: true,
    });
    expect(loadConfig({}, { LEDGER_OIDC_ISSUER: 'http://127.0.0.1:9000', LEDGER_OIDC_AUDIENCE: 'a' }).oidcIssuer).toBe(
      'http://127.0.0.1:9000',
    );
    expect(loadConfig({}, { LEDGER_OIDC_ISSUER: issuer, LEDGER_OIDC_AUDIENCE: 'a' }).oidcAlgorithms).not.toContain(
      'HS256',
    );
  });

  it.each([
    [{ LEDGER_OIDC_ISSUER: issuer }, /LEDGER_OIDC_AUDIENCE: required/],
    [{ LEDGER_REQUIRE_APPROVER_PROOF: 'true' }, /LEDGER_OIDC_ISSUER: required with LEDGER_REQUIRE_APPROVER_PROOF/],
    [{ LEDGER_OIDC_AUDIENCE: 'a' }, /LEDGER_OIDC_ISSUER: required with LEDGER_OIDC_AUDIENCE/],
    [
      { LEDGER_OIDC_ISSUER: issuer, LEDGER_OIDC_AUDIENCE: 'a', LEDGER_OIDC_ALGORITHMS: 'HS256' },
      /LEDGER_OIDC_ALGORITHMS/,
    ],
    [
      { LEDGER_OIDC_ISSUER: issuer, LEDGER_OIDC_AUDIENCE: 'a', LEDGER_OIDC_ALGORITHMS: 'none' },
      /LEDGER_OIDC_ALGORITHMS/,
    ],
    [
      { LEDGER_OIDC_ISSUER: issuer, LEDGER_OIDC_AUDIENCE: 'a', LEDGER_OIDC_ROLE_MAP: 'ops=root' },
      /"root" is not a role/,
    ],
    [{ LEDGER_OIDC_ISSUER: issuer, LEDGER_OIDC_AUDIENCE: 'a', LEDGER_OIDC_ROLE_MAP: 'gateway' }, /not group=role/],
    [
      { LEDGER_OIDC_ISSUER: 'http://idp.example.test', LEDGER_OIDC_AUDIENCE: 'a' },
      /LEDGER_OIDC_ISSUER: .* must be https/,
    ],
    [
      { LEDGER_OIDC_ISSUER: issuer, LEDGER_OIDC_AUDIENCE: 'a', LEDGER_OIDC_JWKS_URL: 'http://10.0.0.1/jwks' },
      /LEDGER_OIDC_JWKS_URL: .* must be https/,
    ],
    [
      { LEDGER_OIDC_ISSUER: issuer, LEDGER_OIDC_AUDIENCE: 'a', LEDGER_OIDC_CLOCK_TOLERANCE_SECONDS: '3600' },
      /LEDGER_OIDC_CLOCK_TOLERANCE_SECONDS/,
    ],
  ])('refuses %j', (env, message) => {
    expect(() => loadConfig({}, env)).toThrow(message);
  });
});
