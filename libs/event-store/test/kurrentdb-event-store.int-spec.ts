import { reachable } from '../../../test/support/reachable.js';
import { KurrentDbEventStore } from '../src/kurrentdb/kurrentdb-event-store.js';
import { describeEventStoreContract } from './event-store.contract.js';

// A KurrentDB shared between runs keeps its streams: the contract writes to fresh stream names on every run.
const url = process.env['LEDGER_TEST_KURRENTDB_URL'] ?? 'kurrentdb://127.0.0.1:2113?tls=false';
const endpoint = firstEndpoint(url);

if (await reachable(endpoint.host, endpoint.port)) {
  describeEventStoreContract('KurrentDbEventStore', async () => {
    const store = await KurrentDbEventStore.connect(url);
    return { store, teardown: () => store.close() };
  });
} else {
  // Not console.warn: Jest drops the console output of a file whose tests are all skipped when it runs several files.
  process.stderr.write(
    `[skip] KurrentDB contract suite: no KurrentDB server answers at ${endpoint.host}:${endpoint.port}\n`,
  );
  describe.skip('KurrentDbEventStore (event store contract)', () => {
    it('needs a KurrentDB server (set LEDGER_TEST_KURRENTDB_URL)', () => undefined);
  });
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
