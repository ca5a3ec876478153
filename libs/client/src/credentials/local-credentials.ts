import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The keys a ledger creates on its first start when it has no principals (docs/security.md, "Secure by default"):
 * `$LEDGER_DATA_DIR/credentials`, mode 0600, JSON `{ "version": 1, "keys": [LocalKey…] }`. The CLI and the client
 * use them when run from the same checkout and given no credential, so the README's two commands work unchanged.
 */
export const LOCAL_CREDENTIALS_FILE = 'credentials';

export interface LocalKey {
  /** The key's name (`local-admin`, `local-gateway`, `local-security`). */
  name: string;
  /** The roles its principal holds. */
  roles: string[];
  /** The API key itself. */
  key: string;
}

export interface LocalCredentials {
  version: 1;
  keys: LocalKey[];
}

export const localCredentialsPath = (dataDir: string): string => join(dataDir, LOCAL_CREDENTIALS_FILE);

/** The data directory a CLI or client run from a checkout looks in: `LEDGER_DATA_DIR`, else `./data`. */
export const localDataDir = (env: NodeJS.ProcessEnv = process.env): string => env.LEDGER_DATA_DIR || './data';

/** The local credentials, or undefined when the file does not exist; throws when it exists but is unreadable. */
export function readLocalCredentials(dataDir: string): LocalCredentials | undefined {
  let text: string;
  try {
    text = readFileSync(localCredentialsPath(dataDir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed = JSON.parse(text) as Partial<LocalCredentials>;
  if (parsed.version !== 1 || !Array.isArray(parsed.keys)) {
    throw new Error(`${localCredentialsPath(dataDir)} is not a version 1 credentials file`);
  }
  return { version: 1, keys: parsed.keys.filter(isLocalKey) };
}

/** The first local key whose roles include `role`. */
export function localKeyFor(dataDir: string, role: string): string | undefined {
  return readLocalCredentials(dataDir)?.keys.find((key) => key.roles.includes(role))?.key;
}

function isLocalKey(value: unknown): value is LocalKey {
  const key = value as Partial<LocalKey> | null;
  return (
    typeof key?.name === 'string' &&
    typeof key.key === 'string' &&
    Array.isArray(key.roles) &&
    key.roles.every((role) => typeof role === 'string')
  );
}
