import type { IssuedApiKey } from '@audit-ledger/domain';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** `$LEDGER_DATA_DIR/credentials`, read by the CLI and the client (libs/client `readLocalCredentials`). */
const credentialsPath = (dataDir: string): string => join(dataDir, 'credentials');

/** A credentials file written but not yet in place: `commit()` puts it in place, `discard()` drops it. */
export interface PendingCredentialsFile {
  path: string;
  /**
   * Renames it to `credentials`. A file already there (keys of another database, say) is kept beside it as
   * `credentials.replaced-<time>`, whose name is returned.
   */
  commit(): string | undefined;
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
    commit: () => {
      let kept: string | undefined;
      if (existsSync(path)) {
        kept = `${path}.replaced-${new Date().toISOString().replace(/[:.]/g, '-')}`;
        renameSync(path, kept);
      }
      renameSync(temporary, path);
      return kept;
    },
    discard: () => rmSync(temporary, { force: true }),
  };
}
