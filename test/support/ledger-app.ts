import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { firstValueFrom } from 'rxjs';
import { startLedger, type LedgerConfigInput, type RunningLedger } from '../../apps/ledger/src/index.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

export interface LedgerUnderTest {
  ledger: RunningLedger;
  database: TestDatabase;
  /** Sends one message over the ledger's TCP transport and returns the reply (rejects with the RPC error). */
  send<T = unknown>(pattern: string, payload: unknown): Promise<T>;
  http(method: string, path: string, body?: unknown, rawBody?: string): Promise<{ status: number; body: unknown }>;
  /** Direct SQL on the ledger's database, for assertions. */
  sql<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  stop(): Promise<void>;
}

/**
 * A ledger on an existing test database with the test settings: free ports, no logs, a fixed token key, and a fresh
 * temporary data directory (its credentials file, keys) unless `overrides.dataDir` names one; that temporary
 * directory is removed when the ledger closes.
 */
export async function startTestLedger(
  databaseUrl: string,
  overrides: Partial<LedgerConfigInput> = {},
): Promise<RunningLedger> {
  if (overrides.dataDir !== undefined) return startLedgerWithTestSettings(databaseUrl, overrides);
  const dataDir = mkdtempSync(join(tmpdir(), 'ledger-test-data-'));
  const removeDataDir = () => rmSync(dataDir, { recursive: true, force: true });
  let ledger: RunningLedger;
  try {
    ledger = await startLedgerWithTestSettings(databaseUrl, { ...overrides, dataDir });
  } catch (error) {
    removeDataDir();
    throw error;
  }
  return { ...ledger, close: () => ledger.close().finally(removeDataDir) };
}

function startLedgerWithTestSettings(
  databaseUrl: string,
  overrides: Partial<LedgerConfigInput>,
): Promise<RunningLedger> {
  return startLedger({
    databaseUrl,
    tcpPort: 0,
    httpPort: 0,
    logLevel: 'silent',
    tokenHmacSecret: 'test-secret-0123456789abcdef',
    // Suites assert exact global orders: no checkpoint sealed by time during a test unless it asks for one (the
    // default seals every second).
    checkpointEveryMs: 60_000,
    ...overrides,
  });
}

/**
 * The whole ledger in-process on a fresh database, with a TCP client and an HTTP helper. Reconciliation is off
 * unless asked for, so verdict events do not interleave with the events a test asserts.
 */
export async function startLedgerUnderTest(overrides: Partial<LedgerConfigInput> = {}): Promise<LedgerUnderTest> {
  const database = await createTestDatabase();
  const ledger = await startTestLedger(database.url, {
    // Suites of the command path assert exact streams; the reconciliation suites switch the processor on.
    reconciliationEnabled: false,
    ...overrides,
  });
  const client: ClientProxy = ClientProxyFactory.create({
    transport: Transport.TCP,
    options: { host: '127.0.0.1', port: ledger.tcpPort },
  });
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  pool.on('error', () => undefined); // an idle connection ended by the server: the next query reconnects
  return {
    ledger,
    database,
    send: (pattern, payload) => firstValueFrom(client.send(pattern, payload)),
    async http(method, path, body, rawBody) {
      const response = await fetch(`http://127.0.0.1:${ledger.httpPort}${path}`, {
        method,
        headers: body !== undefined || rawBody !== undefined ? { 'content-type': 'application/json' } : {},
        body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
      });
      const text = await response.text();
      return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined };
    },
    sql: async (text, values) => (await pool.query(text, values)).rows,
    async stop() {
      await client.close();
      await pool.end();
      await ledger.close();
      await database.drop();
    },
  };
}
