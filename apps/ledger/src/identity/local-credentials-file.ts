import type { IssuedApiKey } from '@audit-ledger/domain';
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** `$LEDGER_DATA_DIR/credentials`, read by the CLI and the client (libs/client `readLocalCredentials`). */
export const credentialsPath = (dataDir: string): string => join(dataDir, 'credentials');

/** A credentials file written but not yet in place: `commit()` renames it over the real one, `discard()` drops it. */
export interface PendingCredentialsFile {
  path: string;
  commit(): void;
  discard(): void;
}

/**
 * Writes the keys (format version 1: `{"version":1,"keys":[{name,roles,key}]}`) to a temporary file of mode 0600
 * beside the real one, flushed to disk. The caller commits it once the keys are recorded in the store, so the file
 * either holds keys the ledger knows or is not there.
 */
export function prepareCredentialsFile(dataDir: string, keys: readonly IssuedApiKey[]): PendingCredentialsFile {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = credentialsPath(dataDir);
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const content = {
    version: 1,
    keys: keys.map(({ name, roles, key }) => ({ name, roles, key })),
  };
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(content, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return {
    path,
    commit: () => renameSync(temporary, path),
    discard: () => rmSync(temporary, { force: true }),
  };
}
