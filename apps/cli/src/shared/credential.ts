import { localDataDir, localKeyFor } from '@audit-ledger/client';
import type { Role } from '@audit-ledger/domain';
import type { Command } from 'commander';
import { connectionOf } from './connection-options.js';

/**
 * The credential a command presents: `--api-key` / `LEDGER_API_KEY`, else the local credentials file's key for the
 * role the command needs (`$LEDGER_DATA_DIR/credentials`, written by the ledger on its first start), a reader's
 * command taking a security key when there is no reader key. Undefined when there is none: the ledger answers 401.
 */
export function credentialFor(command: Command, role: Role): string | undefined {
  const { apiKey } = connectionOf(command);
  if (apiKey) return apiKey;
  const dataDir = localDataDir();
  return localKeyFor(dataDir, role) ?? (role === 'reader' ? localKeyFor(dataDir, 'security') : undefined);
}

/** The `Authorization` header of the command's HTTP requests (none without a credential). */
export function authorizationFor(command: Command, role: Role): Record<string, string> {
  const credential = credentialFor(command, role);
  return credential === undefined ? {} : { authorization: `Bearer ${credential}` };
}

/** Appended to a 401's message: where a credential comes from. */
export const CREDENTIAL_HINT =
  'pass --api-key (or LEDGER_API_KEY), or run from the checkout whose ledger wrote data/credentials';
