import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';

/** A PEM: a file path (string), or its content (Buffer). */
export type PemSource = string | Buffer;

/** TLS to the ledger's TCP transport (set when the ledger has `LEDGER_TLS_CERT_FILE`). */
export interface ClientTlsOptions {
  /** CA certificate(s) that issued the ledger's certificate; default: the system's trusted CAs. */
  ca?: PemSource;
  /** A client certificate and its key, when the ledger asks for one (`LEDGER_TLS_CLIENT_CERT`). */
  cert?: PemSource;
  key?: PemSource;
  /** Name the ledger's certificate must hold; default: the host connected to. */
  servername?: string;
}

/** Credentials at the NATS server, when it requires them (the ledger's own are set with `LEDGER_NATS_*`). */
export type NatsCredentials =
  { user: string; password: string } | { token: string } | { nkeySeedFile: string } | { credsFile: string };

const pem = (source: PemSource): Buffer => (typeof source === 'string' ? readFileSync(source) : source);

/** Node `tls.connect` options for Nest's TCP client (`tlsOptions`): files are read once, here. */
export function tcpTlsOptions(tls: ClientTlsOptions): ConnectionOptions {
  if (Boolean(tls.cert) !== Boolean(tls.key)) {
    throw new TypeError('tls: give both cert and key (a client certificate and its private key), or neither');
  }
  return {
    ...(tls.ca ? { ca: pem(tls.ca) } : {}),
    ...(tls.cert ? { cert: pem(tls.cert) } : {}),
    ...(tls.key ? { key: pem(tls.key) } : {}),
    ...(tls.servername ? { servername: tls.servername } : {}),
    minVersion: 'TLSv1.2',
  };
}

/** What `connect` of `@nats-io/transport-node` takes for `credentials` (loaded lazily: NATS is an optional peer). */
export interface NatsAuthOptions {
  user?: string;
  pass?: string;
  token?: string;
  authenticator?: unknown;
}

export async function natsAuthOptions(credentials: NatsCredentials): Promise<NatsAuthOptions> {
  if ('user' in credentials) return { user: credentials.user, pass: credentials.password };
  if ('token' in credentials) return { token: credentials.token };
  const nats = await import('@nats-io/transport-node');
  if ('nkeySeedFile' in credentials) {
    const seed = new TextEncoder().encode(readFileSync(credentials.nkeySeedFile, 'utf8').trim());
    return { authenticator: nats.nkeyAuthenticator(seed) };
  }
  return { authenticator: nats.credsAuthenticator(readFileSync(credentials.credsFile)) };
}
