import { resolve } from 'node:path';
import type { LedgerConfig } from '../config/ledger.config.js';

/**
 * The one line an operator reads at start: where the ledger listens, where its data is, which store it uses and how
 * to point the CLI at it (docs/operations.md).
 */
export function startLine(options: {
  config: LedgerConfig;
  tcpPort: number;
  httpUrl: string;
  /** The embedded PostgreSQL's port; undefined with DATABASE_URL. */
  embeddedPort: number | undefined;
}): { line: string; httpUrl: string; dataDir: string; store: string } {
  const { config, tcpPort, httpUrl, embeddedPort } = options;
  const dataDir = resolve(config.dataDir);
  const store =
    embeddedPort === undefined
      ? `PostgreSQL at ${redactedDatabase(config.databaseUrl)}`
      : `embedded PostgreSQL on 127.0.0.1:${embeddedPort}`;
  const messages =
    config.transport === 'nats' ? `NATS ${redactedNats(config.natsUrl)}` : `TCP ${config.tcpHost}:${tcpPort}`;
  const cli =
    embeddedPort === undefined
      ? `CLI: DATABASE_URL=… npx ledger verify`
      : `CLI: LEDGER_DATA_DIR=${dataDir} npx ledger verify`;
  const line =
    `audit-ledger ready: HTTP ${httpUrl} (health ${httpUrl}/health/ready), messages over ${messages}, ` +
    `data in ${dataDir}, events in ${store}. ${cli}. SIGINT or SIGTERM stops it.`;
  return { line, httpUrl, dataDir, store };
}

/** A connection string without its password. */
function redactedDatabase(url: string | undefined): string {
  if (!url) return 'DATABASE_URL';
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return `${parsed.host}${parsed.pathname}`;
  } catch {
    return 'DATABASE_URL';
  }
}

function redactedNats(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}
