import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { startJwksServer, TEST_AUDIENCE, type JwksServer } from '../../../test/support/jwks-server.js';
import { UnauthenticatedError } from '@audit-ledger/api-keys';
import {
  IdentityProviderUnavailableError,
  JwtAuthenticator,
  JwtRefusedError,
  oidcOptionsOf,
  type JwtRefusal,
  type OidcOptions,
} from '../src/identity/jwt/index.js';
import { loadConfig } from '../src/config/ledger.config.js';

/** Issue 11 item 3: bearer JWTs verified against a real local identity provider's discovery document and JWKS. */
describe('JwtAuthenticator', () => {
  let idp: JwksServer;

  beforeAll(async () => {
    idp = await startJwksServer();
  });
  afterAll(() => idp.close());

  /** The options the ledger's configuration gives, with the JWKS discovered (no LEDGER_OIDC_JWKS_URL). */
  const authenticatorWith = (env: Record<string, string> = {}): JwtAuthenticator => {
    const config = loadConfig(
      {},
      {
        LEDGER_OIDC_ISSUER: idp.issuer,
        LEDGER_OIDC_AUDIENCE: TEST_AUDIENCE,
        // A token with a new key id may fetch the key set again at once (rotation without waiting).
        LEDGER_OIDC_JWKS_COOLDOWN_MS: '0',
        ...env,
      },
    );
    return new JwtAuthenticator(oidcOptionsOf(config)!);
  };

  const refusal = async (authenticator: JwtAuthenticator, token: string): Promise<JwtRefusedError> => {
    const error = await authenticator.authenticate(token).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(JwtRefusedError);
    expect(error).toBeInstanceOf(UnauthenticatedError);
    expect((error as JwtRefusedError).code).toBe('AUTH.UNAUTHENTICATED');
    return error as JwtRefusedError;
  };
  const expectRefused = async (authenticator: JwtAuthenticator, token: string, reason: JwtRefusal) => {
    const error = await refusal(authenticator, token);
    expect(error.reason).toBe(reason);
    expect(error.message).toContain(reason);
  };

  it('turns a valid token into a jwt principal with the roles its claim names, keys discovered from the issuer', async () => {
    const authenticator = authenticatorWith();
    const before = idp.fetches.discovery;
    const token = await idp.sign({ sub: 'u-1842', preferred_username: 'alice', roles: ['gateway', 'reader', 'other'] });
    await expect(authenticator.authenticate(token)).resolves.toEqual({
      id: `jwt:${idp.issuer}#u-1842`,
      kind: 'jwt',
      name: 'alice',
      roles: ['gateway', 'reader'],
    });
    expect(idp.fetches.discovery).toBe(before + 1);
  });

  it('maps identity-provider groups to roles through LEDGER_OIDC_ROLE_MAP, from a nested claim', async () => {
    const authenticator = authenticatorWith({
      LEDGER_OIDC_ROLES_CLAIM: 'realm_access.roles',
      LEDGER_OIDC_ROLE_MAP: 'sec-team=security,platform=admin,platform=reader,gateway=gateway',
    });
    const token = await idp.sign({
      sub: 'u-7',
      email: 'bob@example.test',
      realm_access: { roles: ['platform', 'sec-team', 'reader'] },
    });
    // `reader` is a role name but not mapped: with a map only mapped groups count.
    await expect(authenticator.authenticate(token)).resolves.toEqual({
      id: `jwt:${idp.issuer}#u-7`,
      kind: 'jwt',
      name: 'bob@example.test',
      roles: ['admin', 'reader', 'security'],
    });
  });

  it('authenticates a token without a mapped role, holding no roles, named by its subject', async () => {
    const token = await idp.sign({ sub: 'u-9', roles: ['visitor'] });
    await expect(authenticatorWith().authenticate(token)).resolves.toEqual({
      id: `jwt:${idp.issuer}#u-9`,
      kind: 'jwt',
      name: 'u-9',
      roles: [],
    });
  });

  it('uses LEDGER_OIDC_JWKS_URL as given, without discovery', async () => {
    const authenticator = authenticatorWith({ LEDGER_OIDC_JWKS_URL: idp.jwksUrl });
    const before = { ...idp.fetches };
    await expect(authenticator.authenticate(await idp.sign({ sub: 'u-2', roles: ['reader'] }))).resolves.toMatchObject({
      roles: ['reader'],
    });
    expect(idp.fetches).toEqual({ discovery: before.discovery, jwks: before.jwks + 1 });
  });

  it('does not trust a discovery document that names another issuer', async () => {
    const authenticator = authenticatorWith({ LEDGER_OIDC_ISSUER: `${idp.issuer}/` });
    const token = await idp.sign({ sub: 'u-1' }, { issuer: `${idp.issuer}/` });
    const error = await authenticator.authenticate(token).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdentityProviderUnavailableError);
    expect((error as Error).message).toContain('names issuer');
  });

  it('refuses an expired token, saying so', async () => {
    const hourAgo = Math.floor(Date.now() / 1000) - 3600;
    const token = await idp.sign({ sub: 'u-1' }, { expiresAt: hourAgo, notBefore: hourAgo - 60 });
    await expectRefused(authenticatorWith(), token, 'expired');
  });

  it('refuses a token signed by a key the issuer does not hold (same key id)', async () => {
    await expectRefused(authenticatorWith(), await idp.sign({ sub: 'u-1' }, { untrusted: true }), 'wrong_signature');
  });

  it('refuses a token for another audience', async () => {
    await expectRefused(
      authenticatorWith(),
      await idp.sign({ sub: 'u-1' }, { audience: 'another-service' }),
      'wrong_audience',
    );
  });

  it('refuses a token of another issuer', async () => {
    await expectRefused(
      authenticatorWith(),
      await idp.sign({ sub: 'u-1' }, { issuer: 'https://elsewhere.example' }),
      'wrong_issuer',
    );
  });

  it('refuses a token whose key id the issuer does not publish', async () => {
    await expectRefused(
      authenticatorWith(),
      await idp.sign({ sub: 'u-1' }, { untrusted: true, kid: 'not-published' }),
      'unknown_key',
    );
  });

  it('refuses malformed tokens, unsigned ones and HS256 ones', async () => {
    const authenticator = authenticatorWith();
    await expectRefused(authenticator, 'not-a-jwt', 'malformed');
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: idp.issuer, aud: TEST_AUDIENCE, sub: 'u-1', exp: now + 300 };
    const unsigned = `${encode({ alg: 'none' })}.${encode(claims)}.`;
    expect(['algorithm_not_allowed', 'malformed']).toContain((await refusal(authenticator, unsigned)).reason);
    const hs256 = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: idp.currentKid })
      .sign(new TextEncoder().encode('a-shared-secret-that-must-not-work'));
    await expectRefused(authenticator, hs256, 'algorithm_not_allowed');
  });

  it('refuses a token without an expiry', async () => {
    await expectRefused(authenticatorWith(), await idp.sign({ sub: 'u-1' }, { expiresAt: null }), 'invalid_claims');
  });

  it('picks up a rotated key set: new key ids are fetched, keys no longer published are refused', async () => {
    const authenticator = authenticatorWith();
    const before = await idp.sign({ sub: 'u-1', roles: ['reader'] });
    await expect(authenticator.authenticate(before)).resolves.toMatchObject({ roles: ['reader'] });

    await idp.rotate();
    const after = await idp.sign({ sub: 'u-1', roles: ['reader'] });
    await expect(authenticator.authenticate(after)).resolves.toMatchObject({ roles: ['reader'] });
    await expectRefused(authenticator, before, 'unknown_key');
  });

  it('says the identity provider is unavailable (not that the token is bad) when its keys cannot be fetched', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const options: OidcOptions = {
      ...authenticatorWith().options,
      issuer: `http://127.0.0.1:${port}`,
    };
    const token = await idp.sign({ sub: 'u-1' }, { issuer: options.issuer });
    const error = await new JwtAuthenticator(options).authenticate(token).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdentityProviderUnavailableError);
    expect((error as IdentityProviderUnavailableError).code).toBe('AUTH.IDENTITY_PROVIDER_UNAVAILABLE');
  });
});
