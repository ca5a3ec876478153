import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { IdentityProviderUnavailableError } from './identity-provider-errors.js';
import { insecureKeySourceProblem, type OidcOptions } from './oidc-options.js';

const DEFAULT_FETCH_TIMEOUT_MS = 5_000;

/** `<issuer>/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4). */
function discoveryUrlOf(issuer: string): URL {
  return new URL(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`);
}

/** Reads the issuer's discovery document: its `issuer` must be the configured one; returns its `jwks_uri`. */
async function discoverJwksUrl(issuer: string, timeoutMs = DEFAULT_FETCH_TIMEOUT_MS): Promise<URL> {
  const url = discoveryUrlOf(issuer);
  let document: unknown;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    document = await response.json();
  } catch (error) {
    throw new IdentityProviderUnavailableError(
      `The identity provider's discovery document ${url.href} could not be read (${(error as Error).message}); retry later`,
    );
  }
  const { issuer: announced, jwks_uri: jwksUri } = (document ?? {}) as { issuer?: unknown; jwks_uri?: unknown };
  if (announced !== issuer) {
    throw new IdentityProviderUnavailableError(
      `The discovery document ${url.href} names issuer ${JSON.stringify(announced)}, not the configured ${issuer}`,
    );
  }
  if (typeof jwksUri !== 'string' || !URL.canParse(jwksUri)) {
    throw new IdentityProviderUnavailableError(`The discovery document ${url.href} has no usable jwks_uri`);
  }
  const insecure = insecureKeySourceProblem(jwksUri);
  if (insecure) throw new IdentityProviderUnavailableError(`The discovery document's jwks_uri: ${insecure}`);
  return new URL(jwksUri);
}

/**
 * The issuer's signing keys: fetched on first use (from the configured JWKS URL or the discovered one), cached, and
 * fetched again for a key id it does not know (rotation) at most once per cooldown. A failed discovery is retried at
 * the next token, so the ledger starts while its identity provider is down.
 */
export class JwksSource {
  private keySet?: Promise<JWTVerifyGetKey>;

  constructor(private readonly options: OidcOptions) {}

  /** The key resolver jose's jwtVerify takes. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => (await this.resolver())(header, token);

  private resolver(): Promise<JWTVerifyGetKey> {
    this.keySet ??= this.build().catch((error: unknown) => {
      this.keySet = undefined;
      throw error;
    });
    return this.keySet;
  }

  private async build(): Promise<JWTVerifyGetKey> {
    const timeoutDuration = this.options.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
    const url = this.options.jwksUrl
      ? new URL(this.options.jwksUrl)
      : await discoverJwksUrl(this.options.issuer, timeoutDuration);
    return createRemoteJWKSet(url, { cooldownDuration: this.options.jwksCooldownMs, timeoutDuration });
  }
}
