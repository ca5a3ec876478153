import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The audience tokens are signed for unless a test names another. */
export const TEST_AUDIENCE = 'audit-ledger';

interface SignOptions {
  /** Sign with the untrusted key (not in the served JWKS): a wrongly signed token. Default: the current trusted key. */
  untrusted?: boolean;
  /** Header `kid`; default the signing key's own id. */
  kid?: string;
  /** Default: the server's issuer. */
  issuer?: string;
  /** Default: TEST_AUDIENCE. */
  audience?: string | string[];
  /** Seconds since the epoch; default five minutes from now; null: no `exp` at all. */
  expiresAt?: number | null;
  /** Seconds since the epoch. */
  notBefore?: number;
}

/**
 * A real local OIDC identity provider for tests (node:http): `/.well-known/openid-configuration` names the issuer and
 * `/jwks.json`, which serves the public keys of the current (and kept) key pairs. `sign` makes tokens with them, or
 * with a second key pair the JWKS never serves.
 */
export interface JwksServer {
  issuer: string;
  jwksUrl: string;
  sign(claims: JWTPayload, options?: SignOptions): Promise<string>;
  /** A new current key pair with a new key id; `keepOld` keeps serving the previous public keys as well. */
  rotate(options?: { keepOld?: boolean }): Promise<void>;
  /** Key id of the current signing key. */
  readonly currentKid: string;
  /** How many times each document was fetched. */
  readonly fetches: { discovery: number; jwks: number };
  close(): Promise<void>;
}

interface KeyPair {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

const ALG = 'ES256';

async function keyPair(kid: string): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: ALG, use: 'sig' } };
}

export async function startJwksServer(): Promise<JwksServer> {
  let generation = 1;
  let served: KeyPair[] = [await keyPair(`key-${generation}`)];
  const untrusted = await keyPair('untrusted');
  const fetches = { discovery: 0, jwks: 0 };
  let issuer = '';

  const server = createServer((request, response) => {
    const json = (body: unknown) =>
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (request.url === '/.well-known/openid-configuration') {
      fetches.discovery += 1;
      return json({ issuer, jwks_uri: `${issuer}/jwks.json`, id_token_signing_alg_values_supported: [ALG] });
    }
    if (request.url === '/jwks.json') {
      fetches.jwks += 1;
      return json({ keys: served.map((pair) => pair.publicJwk) });
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    issuer,
    jwksUrl: `${issuer}/jwks.json`,
    get currentKid() {
      return served[0]!.kid;
    },
    fetches,
    async sign(claims, options = {}) {
      const current = served[0]!;
      const key = options.untrusted ? untrusted.privateKey : current.privateKey;
      const now = Math.floor(Date.now() / 1000);
      const jwt = new SignJWT(claims)
        .setProtectedHeader({ alg: ALG, kid: options.kid ?? current.kid, typ: 'JWT' })
        .setIssuer(options.issuer ?? issuer)
        .setAudience(options.audience ?? TEST_AUDIENCE)
        .setIssuedAt(now)
        .setNotBefore(options.notBefore ?? now);
      if (options.expiresAt !== null) jwt.setExpirationTime(options.expiresAt ?? now + 300);
      return jwt.sign(key);
    },
    async rotate({ keepOld = false } = {}) {
      generation += 1;
      const next = await keyPair(`key-${generation}`);
      served = keepOld ? [next, ...served] : [next];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
