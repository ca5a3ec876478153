import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { firstValueFrom } from 'rxjs';
import {
  startLedger,
  type LedgerConfigInput,
  type LedgerWiring,
  type RunningLedger,
} from '../../apps/ledger/src/index.js';
import { issueTestCredentials, type TestCaller, type TestCredentials } from './test-credentials.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

/** The payload master key of test ledgers (docs/security.md, "Payload encryption"). */
export const TEST_PAYLOAD_MASTER_KEY = '5eed'.repeat(16);

/** The credential a call presents: a test credential or any other string; `null` presents none. */
interface CallAs {
  credential?: string | null;
}

export interface LedgerUnderTest {
  ledger: RunningLedger;
  database: TestDatabase;
  /** A real API key per role, and one holding every role (`all`): the default of `send` and `http`. */
  credentials: TestCredentials;
  /** Sends one message over the ledger's TCP transport and returns the reply (rejects with the RPC error). */
  send<T = unknown>(pattern: string, payload: unknown, as?: CallAs): Promise<T>;
  http(
    method: string,
    path: string,
    body?: unknown,
    rawBody?: string,
    as?: CallAs,
  ): Promise<{ status: number; body: unknown }>;
  /** `{ authorization: 'Bearer …' }` for a test caller (`all` by default), for requests made without `http`. */
  headers(caller?: TestCaller): Record<string, string>;
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
  wiring: LedgerWiring = {},
): Promise<RunningLedger> {
  if (overrides.dataDir !== undefined) return startLedgerWithTestSettings(databaseUrl, overrides, wiring);
  const dataDir = mkdtempSync(join(tmpdir(), 'ledger-test-data-'));
  const removeDataDir = () => rmSync(dataDir, { recursive: true, force: true });
  let ledger: RunningLedger;
  try {
    ledger = await startLedgerWithTestSettings(databaseUrl, { ...overrides, dataDir }, wiring);
  } catch (error) {
    removeDataDir();
    throw error;
  }
  return { ...ledger, close: () => ledger.close().finally(removeDataDir) };
}

function startLedgerWithTestSettings(
  databaseUrl: string,
  overrides: Partial<LedgerConfigInput>,
  wiring: LedgerWiring,
): Promise<RunningLedger> {
  return startLedger(
    {
      databaseUrl,
      tcpPort: 0,
      httpPort: 0,
      logLevel: 'silent',
      tokenHmacSecret: 'test-secret-0123456789abcdef',
      // Like the token key: every test ledger on one database shares it (a database has one payload master key).
      payloadMasterKey: TEST_PAYLOAD_MASTER_KEY,
      // Suites assert exact global orders: no checkpoint sealed by time during a test unless it asks for one (the
      // default seals every second).
      checkpointEveryMs: 60_000,
      // Test files share one NATS server: a queue group per ledger, so that no ledger of another file takes a share
      // of this one's messages (in one group, each message would go to one of them).
      natsQueue: `test-${randomUUID()}`,
      ...overrides,
    },
    wiring,
  );
}

/** Headers presenting a credential over HTTP (none for `null`; the `all` test credential by default). */
function authorizationHeaders(credentials: TestCredentials, as: CallAs = {}): Record<string, string> {
  const credential = as.credential === undefined ? credentials.all : as.credential;
  return credential === null ? {} : { authorization: `Bearer ${credential}` };
}

/** A NATS client whose every message carries the header `authorization: Bearer <credential>` (none when null). */
export function natsClientAs(natsUrl: string, credential: string | null): ClientProxy {
  return ClientProxyFactory.create({
    transport: Transport.NATS,
    options: {
      servers: [natsUrl],
      ...(credential === null ? {} : { headers: { authorization: `Bearer ${credential}` } }),
    },
  });
}

/** A TCP client whose every packet carries `auth` (none when `credential` is null). */
export function tcpClientAs(port: number, credential: string | null): ClientProxy {
  return ClientProxyFactory.create({
    transport: Transport.TCP,
    options: {
      host: '127.0.0.1',
      port,
      serializer: { serialize: (packet: object) => (credential === null ? packet : { ...packet, auth: credential }) },
    },
  });
}

/**
 * The whole ledger in-process on a fresh database, with a TCP client and an HTTP helper. Reconciliation is off
 * unless asked for, so verdict events do not interleave with the events a test asserts.
 */
export async function startLedgerUnderTest(
  overrides: Partial<LedgerConfigInput> = {},
  wiring: LedgerWiring = {},
): Promise<LedgerUnderTest> {
  const database = await createTestDatabase();
  const ledger = await startTestLedger(
    database.url,
    {
      // Suites of the command path assert exact streams; the reconciliation suites switch the processor on.
      reconciliationEnabled: false,
      ...overrides,
    },
    wiring,
  );
  const credentials = await issueTestCredentials(ledger).catch(async (error: unknown) => {
    await ledger.close();
    await database.drop();
    throw error;
  });
  const clients = new Map<string | null, ClientProxy>();
  const clientAs = (credential: string | null): ClientProxy => {
    let client = clients.get(credential);
    if (!client) clients.set(credential, (client = tcpClientAs(ledger.tcpPort, credential)));
    return client;
  };
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  pool.on('error', () => undefined); // an idle connection ended by the server: the next query reconnects
  return {
    ledger,
    database,
    credentials,
    send: (pattern, payload, as = {}) =>
      firstValueFrom(clientAs(as.credential === undefined ? credentials.all : as.credential).send(pattern, payload)),
    async http(method, path, body, rawBody, as) {
      const response = await fetch(`http://127.0.0.1:${ledger.httpPort}${path}`, {
        method,
        headers: {
          ...(body !== undefined || rawBody !== undefined ? { 'content-type': 'application/json' } : {}),
          ...authorizationHeaders(credentials, as),
        },
        body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
      });
      const text = await response.text();
      return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined };
    },
    headers: (caller = 'all') => ({ authorization: `Bearer ${credentials[caller]}` }),
    sql: async (text, values) => (await pool.query(text, values)).rows,
    async stop() {
      for (const client of clients.values()) await client.close();
      await pool.end();
      await ledger.close();
      await database.drop();
    },
  };
}
