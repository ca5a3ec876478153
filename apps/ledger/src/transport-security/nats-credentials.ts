import { credsAuthenticator, nkeyAuthenticator, type NodeConnectionOptions } from '@nats-io/transport-node';
import { readFileSync } from 'node:fs';
import type { LedgerConfig } from '../config/ledger.config.js';
import { TRANSPORT_SECURITY_VARIABLES as VARIABLES } from '../config/transport-security.config.js';
import { assertSecretFile } from './file-modes.js';

export interface NatsConnection {
  options: Pick<NodeConnectionOptions, 'user' | 'pass' | 'token' | 'authenticator'> & { servers: string[] };
  /** How the ledger authenticates, for messages: `user "ledger" (LEDGER_NATS_USER, LEDGER_NATS_PASSWORD)`. */
  credential: string;
}

/**
 * The ledger's connection to its NATS server: the URL and the one credential configured (user and password, a token,
 * an nkey seed file or a creds file; docs/security.md "NATS credentials"). Key files are checked for their
 * permissions and read once, at start.
 */
export function natsConnectionOptions(config: LedgerConfig): NatsConnection {
  const servers = [config.natsUrl];
  if (config.natsUser && config.natsPassword) {
    return {
      options: { servers, user: config.natsUser, pass: config.natsPassword },
      credential: `user "${config.natsUser}" (${VARIABLES.natsUser}, ${VARIABLES.natsPassword})`,
    };
  }
  if (config.natsToken) {
    return { options: { servers, token: config.natsToken }, credential: `a token (${VARIABLES.natsToken})` };
  }
  if (config.natsNkeySeedFile) {
    assertSecretFile(config.natsNkeySeedFile, VARIABLES.natsNkeySeedFile);
    const seed = new TextEncoder().encode(readFileSync(config.natsNkeySeedFile, 'utf8').trim());
    return {
      options: { servers, authenticator: nkeyAuthenticator(seed) },
      credential: `the nkey seed in ${config.natsNkeySeedFile} (${VARIABLES.natsNkeySeedFile})`,
    };
  }
  if (config.natsCredsFile) {
    assertSecretFile(config.natsCredsFile, VARIABLES.natsCredsFile);
    return {
      options: { servers, authenticator: credsAuthenticator(readFileSync(config.natsCredsFile)) },
      credential: `the credentials in ${config.natsCredsFile} (${VARIABLES.natsCredsFile})`,
    };
  }
  return { options: { servers }, credential: 'no credentials' };
}

/** The ledger could not connect to its NATS server; the message says with what and what to set. */
export class NatsConnectError extends Error {
  readonly code = 'NATS.CONNECT_FAILED';
}

/** Turns the NATS client's connect failure into one that names the server, the credential used and the fix. */
export function natsConnectError(connection: NatsConnection, cause: unknown): NatsConnectError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const server = connection.options.servers.join(', ');
  const refused = /authori[sz]ation|authentication|permission/i.test(reason);
  return new NatsConnectError(
    refused
      ? `the NATS server at ${server} refused the ledger's connection with ${connection.credential}: ${reason}; ` +
          `set ${VARIABLES.natsUser} and ${VARIABLES.natsPassword}, ${VARIABLES.natsToken}, ` +
          `${VARIABLES.natsNkeySeedFile} or ${VARIABLES.natsCredsFile} to what the server expects ` +
          '(docs/security.md, "NATS credentials")'
      : `could not connect to the NATS server at ${server} (LEDGER_NATS_URL) with ${connection.credential}: ${reason}`,
    { cause },
  );
}
