import { statSync } from 'node:fs';

/** A key or trust file whose permissions let someone else read a secret or swap what the ledger trusts. */
export class InsecureFileError extends Error {
  readonly code = 'CONFIG.INSECURE_FILE';
}

const octal = (mode: number) => (mode & 0o777).toString(8).padStart(4, '0');

/**
 * A file holding a secret (a private key, an nkey seed, NATS credentials) must not be readable or writable by others,
 * nor writable by its group: 0600, or 0640 for a service group. Checked before it is read; skipped on Windows.
 */
export function assertSecretFile(file: string, variable: string): void {
  const mode = modeOf(file, variable);
  if (mode !== undefined && (mode & 0o027) !== 0) {
    throw new InsecureFileError(
      `refusing to start: ${variable}=${file} (mode ${octal(mode)}) holds a secret and is accessible to others; ` +
        `run: chmod 600 ${file}`,
    );
  }
}

/**
 * A file the ledger trusts (a certificate, a CA, the client-certificate principals): public, but whoever can change
 * it can let themselves in, so it must not be writable by group or others.
 */
export function assertTrustedFile(file: string, variable: string): void {
  const mode = modeOf(file, variable);
  if (mode !== undefined && (mode & 0o022) !== 0) {
    throw new InsecureFileError(
      `refusing to start: ${variable}=${file} (mode ${octal(mode)}) is writable by group or others, who could change ` +
        `what the ledger trusts; run: chmod go-w ${file}`,
    );
  }
}

function modeOf(file: string, variable: string): number | undefined {
  let stat;
  try {
    stat = statSync(file);
  } catch (error) {
    throw new InsecureFileError(`refusing to start: ${variable}=${file}: ${(error as Error).message}`);
  }
  if (!stat.isFile()) throw new InsecureFileError(`refusing to start: ${variable}=${file} is not a file`);
  return process.platform === 'win32' ? undefined : stat.mode;
}
