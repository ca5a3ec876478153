import { statSync } from 'node:fs';
import { reachable } from '../../../test/support/reachable.js';
import { KurrentDbEventStore } from '../src/kurrentdb/kurrentdb-event-store.js';
import { describeEventStoreContract } from './event-store.contract.js';

// A KurrentDB shared between runs keeps its streams: the contract writes to fresh stream names on every run.
const url = process.env['LEDGER_TEST_KURRENTDB_URL'] ?? 'kurrentdb://127.0.0.1:2113?tls=false';
const endpoint = firstEndpoint(url);

const KURRENTDB_IMAGE = 'kurrentplatform/kurrentdb:25.0';

if (await reachable(endpoint.host, endpoint.port)) {
  describeEventStoreContract('KurrentDbEventStore', async () => {
    const store = await KurrentDbEventStore.connect(url);
    return { store, teardown: () => store.close() };
  });
} else if (dockerEngine() && nodeAtLeast(22, 22)) {
  // No server at the URL, but a Docker engine: one KurrentDB container for this file (@testcontainers/kurrentdb).
  const { KurrentDbContainer } = await import('@testcontainers/kurrentdb');
  const container = await new KurrentDbContainer(KURRENTDB_IMAGE).start();
  afterAll(() => container.stop());
  describeEventStoreContract('KurrentDbEventStore (testcontainers)', async () => {
    const store = await KurrentDbEventStore.connect(container.getConnectionString());
    return { store, teardown: () => store.close() };
  });
} else {
  const reason =
    `no KurrentDB server answers at ${endpoint.host}:${endpoint.port} and ` +
    (dockerEngine()
      ? `@testcontainers/kurrentdb needs Node.js >= 22.22 (this is ${process.versions.node})`
      : 'no Docker engine is reachable for @testcontainers/kurrentdb');
  // Not console.warn: Jest drops the console output of a file whose tests are all skipped when it runs several files.
  process.stderr.write(`[skip] KurrentDB contract suite: ${reason}\n`);
  describe.skip('KurrentDbEventStore (event store contract)', () => {
    it(`skipped: ${reason}`, () => undefined);
  });
}

/** A Docker engine this process can reach: `DOCKER_HOST`, or the default socket. */
function dockerEngine(): boolean {
  if (process.env['DOCKER_HOST']) return true;
  try {
    return statSync('/var/run/docker.sock').isSocket();
  } catch {
    return false;
  }
}

function nodeAtLeast(major: number, minor: number): boolean {
  const [have, haveMinor] = process.versions.node.split('.').map(Number) as [number, number];
  return have > major || (have === major && haveMinor >= minor);
}

/** The first host:port of a `kurrentdb://` / `esdb://` connection string (credentials, path and query dropped). */
function firstEndpoint(connectionString: string): { host: string; port: number } {
  const authority =
    connectionString
      .replace(/^[a-z+]+:\/\//i, '')
      .replace(/^[^@/?]*@/, '')
      .split(/[/?]/)[0] ?? '';
  const first = authority.split(',')[0] ?? '';
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(first);
  return {
    host: (match?.[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''),
    port: match?.[2] ? Number(match[2]) : 2113,
  };
}
