import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliFailure } from './cli-failure.js';
import { EXIT_CODES } from './exit-codes.js';

/** The runtime login the ledger creates on its embedded PostgreSQL, and the file holding its generated password. */
const EMBEDDED_LOGIN = 'ledger_service';
const EMBEDDED_DATABASE = 'ledger';
const DEFAULT_EMBEDDED_PORT = '54329';

/**
 * The database a command reads: `--database-url` / `DATABASE_URL`; otherwise, next to a ledger running on its embedded
 * PostgreSQL (the README's first run), that server through the runtime login whose generated password is kept in
 * `$LEDGER_DATA_DIR/pg-ledger_service.password` (docs/operations.md).
 */
export function databaseUrlOf(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return explicit;
  const dataDir = env.LEDGER_DATA_DIR || './data';
  const passwordFile = join(dataDir, `pg-${EMBEDDED_LOGIN}.password`);
  if (!existsSync(passwordFile)) {
    throw new CliFailure(
      EXIT_CODES.badInput,
      `no database: pass --database-url or set DATABASE_URL (no embedded ledger's ${passwordFile} here either)`,
    );
  }
  let password: string;
  try {
    password = readFileSync(passwordFile, 'utf8').trim();
  } catch (error) {
    throw new CliFailure(EXIT_CODES.failure, `cannot read ${passwordFile}: ${(error as Error).message}`);
  }
  const url = new URL(`postgres://127.0.0.1:${env.LEDGER_EMBEDDED_PG_PORT || DEFAULT_EMBEDDED_PORT}/`);
  url.pathname = `/${EMBEDDED_DATABASE}`;
  url.username = EMBEDDED_LOGIN;
  url.password = password;
  return url.toString();
}
