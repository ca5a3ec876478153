import { z } from 'zod';

const file = z.string().min(1);
const milliseconds = z.coerce.number().int().min(0).max(600_000);

/** How the TLS server treats client certificates (verified against `tlsCaFile` when asked for). */
const CLIENT_CERT_MODES = ['off', 'optional', 'required'] as const;
export type ClientCertMode = (typeof CLIENT_CERT_MODES)[number];

/**
 * TLS of the TCP transport and the HTTP API, and the ledger's own credentials at its NATS server
 * (docs/security.md "TLS" and "NATS credentials"). Spread into LedgerConfigSchema.
 */
export const transportSecuritySettings = {
  /** Server certificate chain and private key (PEM); both or neither. Set: TCP and HTTP speak TLS only. */
  tlsCertFile: file.optional(),
  tlsKeyFile: file.optional(),
  /** CA certificates (PEM) that client certificates are verified against. */
  tlsCaFile: file.optional(),
  tlsClientCert: z.enum(CLIENT_CERT_MODES).default('off'),
  /** JSON list mapping a client certificate (subject CN or SHA-256 fingerprint) to a principal's name and roles. */
  tlsClientPrincipalsFile: file.optional(),
  /** A TLS handshake not complete this long after the connection opened is abandoned (the socket is closed). */
  tlsHandshakeTimeoutMs: milliseconds.min(100).default(10_000),
  natsUser: z.string().min(1).optional(),
  natsPassword: z.string().min(1).optional(),
  natsToken: z.string().min(1).optional(),
  natsNkeySeedFile: file.optional(),
  natsCredsFile: file.optional(),
};

export const TRANSPORT_SECURITY_VARIABLES: Record<keyof typeof transportSecuritySettings, string> = {
  tlsCertFile: 'LEDGER_TLS_CERT_FILE',
  tlsKeyFile: 'LEDGER_TLS_KEY_FILE',
  tlsCaFile: 'LEDGER_TLS_CA_FILE',
  tlsClientCert: 'LEDGER_TLS_CLIENT_CERT',
  tlsClientPrincipalsFile: 'LEDGER_TLS_CLIENT_PRINCIPALS_FILE',
  tlsHandshakeTimeoutMs: 'LEDGER_TLS_HANDSHAKE_TIMEOUT_MS',
  natsUser: 'LEDGER_NATS_USER',
  natsPassword: 'LEDGER_NATS_PASSWORD',
  natsToken: 'LEDGER_NATS_TOKEN',
  natsNkeySeedFile: 'LEDGER_NATS_NKEY_SEED_FILE',
  natsCredsFile: 'LEDGER_NATS_CREDS_FILE',
};

type TransportSecurityConfig = z.output<z.ZodObject<typeof transportSecuritySettings>>;

/** The combinations the schema cannot express; each reason names the variables to set. Empty: consistent. */
export function transportSecurityProblems(config: TransportSecurityConfig): string[] {
  const v = TRANSPORT_SECURITY_VARIABLES;
  const problems: string[] = [];
  if (Boolean(config.tlsCertFile) !== Boolean(config.tlsKeyFile)) {
    problems.push(
      `${v.tlsCertFile} and ${v.tlsKeyFile}: set both (the server certificate and its private key) or neither`,
    );
  }
  if (config.tlsClientCert !== 'off' && !config.tlsCertFile) {
    problems.push(`${v.tlsClientCert}=${config.tlsClientCert}: requires TLS (${v.tlsCertFile} and ${v.tlsKeyFile})`);
  }
  if (config.tlsClientCert !== 'off' && !config.tlsCaFile) {
    problems.push(
      `${v.tlsCaFile}: required when ${v.tlsClientCert}=${config.tlsClientCert} (client certificates are verified against it)`,
    );
  }
  if (config.tlsClientPrincipalsFile && config.tlsClientCert === 'off') {
    problems.push(`${v.tlsClientPrincipalsFile}: requires ${v.tlsClientCert}=optional or required`);
  }
  if (Boolean(config.natsUser) !== Boolean(config.natsPassword)) {
    problems.push(`${v.natsUser} and ${v.natsPassword}: set both or neither`);
  }
  const natsWays = (['natsUser', 'natsToken', 'natsNkeySeedFile', 'natsCredsFile'] as const).filter((k) => config[k]);
  if (natsWays.length > 1) {
    problems.push(`${natsWays.map((k) => v[k]).join(', ')}: choose one way to authenticate at the NATS server`);
  }
  return problems;
}
