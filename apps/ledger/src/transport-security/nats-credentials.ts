import { credsAuthenticator, nkeyAuthenticator, type NodeConnectionOptions } from '@nats-io/transport-node';
import { readFileSync } from 'node:fs';
import type { LedgerConfig } from '../config/ledger.config.js';
import { TRANSPORT_SECURITY_VARIABLES as VARIABLES } from '../config/transport-security.config.js';
import { assertSecretFile } from './file-modes.js';

/**
 * The ledger's connection to its NATS server: the URL and the one credential configured (user and password, a token,
 * an nkey seed file or a creds file; docs/security.md "NATS credentials"). Key files are checked for their
 * permissions and read once, at start.
 */
export function natsConnectionOptions(
  config: LedgerConfig,
): Pick<NodeConnectionOptions, 'servers' | 'user' | 'pass' | 'token' | 'authenticator'> & { servers: string[] } {
  const servers = [config.natsUrl];
  if (config.natsUser && config.natsPassword) return { servers, user: config.natsUser, pass: config.natsPassword };
  if (config.natsToken) return { servers, token: config.natsToken };
  if (config.natsNkeySeedFile) {
    assertSecretFile(config.natsNkeySeedFile, VARIABLES.natsNkeySeedFile);
    const seed = new TextEncoder().encode(readFileSync(config.natsNkeySeedFile, 'utf8').trim());
    return { servers, authenticator: nkeyAuthenticator(seed) };
  }
  if (config.natsCredsFile) {
    assertSecretFile(config.natsCredsFile, VARIABLES.natsCredsFile);
    return { servers, authenticator: credsAuthenticator(readFileSync(config.natsCredsFile)) };
  }
  return { servers };
}
