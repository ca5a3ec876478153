import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The key and secret files a ledger keeps in its data directory: the local credentials, the token HMAC key, the
 * embedded database's passwords and the private checkpoint keys (`keys/`, except the public `*.pub`).
 */
export function secretFilesIn(dataDir: string): string[] {
  const top = readdirOrEmpty(dataDir)
    .filter(
      (name) =>
        name === 'credentials' ||
        name === 'token-hmac.key' ||
        name === 'payload-master.key' ||
        /^pg.*\.password$/.test(name),
    )
    .map((name) => join(dataDir, name));
  const keysDir = join(dataDir, 'keys');
  const keys = readdirOrEmpty(keysDir)
    .filter((name) => !name.endsWith('.pub'))
    .map((name) => join(keysDir, name));
  return [...top, ...keys].filter((file) => statSync(file).isFile());
}

export class SecretFileModeError extends Error {
  constructor(readonly files: readonly { file: string; mode: string }[]) {
    super(
      `refusing to start: ${files.map(({ file, mode }) => `${file} (mode ${mode})`).join(', ')} ` +
        `${files.length === 1 ? 'is' : 'are'} accessible to group or others; keys and secrets must be readable by ` +
        `their owner only: chmod 600 ${files.map(({ file }) => file).join(' ')}`,
    );
    this.name = 'SecretFileModeError';
  }
}

/** Throws SecretFileModeError naming every key or secret file of `dataDir` that group or others may access. */
export function assertSecretFilesPrivate(dataDir: string): void {
  const open = secretFilesIn(dataDir)
    .map((file) => ({ file, mode: statSync(file).mode & 0o777 }))
    .filter(({ mode }) => (mode & 0o077) !== 0)
    .map(({ file, mode }) => ({ file, mode: mode.toString(8).padStart(4, '0') }));
  if (open.length > 0) throw new SecretFileModeError(open);
}

function readdirOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') {
      return [];
    }
    throw error;
  }
}
