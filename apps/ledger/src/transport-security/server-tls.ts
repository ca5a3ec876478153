import { readFileSync } from 'node:fs';
import type { TlsOptions } from 'node:tls';
import type { LedgerConfig } from '../config/ledger.config.js';
import { TRANSPORT_SECURITY_VARIABLES as VARIABLES, type ClientCertMode } from '../config/transport-security.config.js';
import { loadCertificatePrincipals, type CertificatePrincipalOf } from '../tcp/client-certificate.js';
import { assertSecretFile, assertTrustedFile } from './file-modes.js';

/** What the TCP transport and the HTTP API need to speak TLS. */
export interface ServerTls {
  clientCert: ClientCertMode;
  /** Options of the TCP transport's `tls.createServer`: the server certificate and the client-certificate policy. */
  tcp: TlsOptions;
  /**
   * Options of the HTTP API's `https` server: the same certificate, no client certificates (HTTP callers present a
   * bearer credential; browsers and dashboards would not hold one).
   */
  http: TlsOptions;
  /**
   * The principal of a TCP connection's verified client certificate (`LEDGER_TLS_CLIENT_PRINCIPALS_FILE`, read and
   * checked at start); wrap it with `tcpConnectionPrincipal` for the guards' CONNECTION_PRINCIPAL.
   */
  certificatePrincipalOf?: CertificatePrincipalOf;
}

/**
 * Reads the server certificate, key and client CA named by the configuration (after checking their permissions);
 * undefined when TLS is not configured. Client certificates (TCP only): `required` refuses a handshake without a valid one;
 * `optional` asks for one and lets a connection without one through (a presented but invalid one is refused by
 * the transport, see `clientCertificateProblem`).
 */
export function loadServerTls(config: LedgerConfig): ServerTls | undefined {
  if (!config.tlsCertFile || !config.tlsKeyFile) return undefined;
  assertSecretFile(config.tlsKeyFile, VARIABLES.tlsKeyFile);
  assertTrustedFile(config.tlsCertFile, VARIABLES.tlsCertFile);
  if (config.tlsCaFile) assertTrustedFile(config.tlsCaFile, VARIABLES.tlsCaFile);
  if (config.tlsClientPrincipalsFile) {
    assertTrustedFile(config.tlsClientPrincipalsFile, VARIABLES.tlsClientPrincipalsFile);
  }
  const asking = config.tlsClientCert !== 'off';
  const server: TlsOptions = {
    cert: readFileSync(config.tlsCertFile),
    key: readFileSync(config.tlsKeyFile),
    minVersion: 'TLSv1.2',
    handshakeTimeout: config.tlsHandshakeTimeoutMs,
  };
  return {
    clientCert: config.tlsClientCert,
    tcp: {
      ...server,
      ...(asking && config.tlsCaFile ? { ca: readFileSync(config.tlsCaFile) } : {}),
      requestCert: asking,
      rejectUnauthorized: config.tlsClientCert === 'required',
    },
    http: server,
    ...(config.tlsClientPrincipalsFile
      ? { certificatePrincipalOf: loadCertificatePrincipals(config.tlsClientPrincipalsFile) }
      : {}),
  };
}
