import { PRINCIPALS_STREAM } from '@audit-ledger/domain';
import {
  PostgresEventStore,
  type EventStore,
  type SubscribeToAllOptions,
  type Subscription,
} from '@audit-ledger/event-store';
import { readLocalCredentials } from '@audit-ledger/client';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { ApiKeyAdmin } from '../src/identity/api-key-admin.js';
import { ApiKeyTable } from '@audit-ledger/api-keys';
import { bootstrapLocalKeys } from '../src/identity/bootstrap-local-keys.js';
import { systemClock } from '../src/shared/tokens.js';
import { startIdentity } from '../src/identity/start-identity.js';
import { pino } from 'pino';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('bootstrapLocalKeys on one database from two instances', () => {
  let database: TestDatabase;
  let store: PostgresEventStore;
  const tables: ApiKeyTable[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    store = await PostgresEventStore.connect({ connectionString: database.url, poolSize: 3, logger: silent });
  });
  afterAll(async () => {
    for (const table of tables) await table.close();
    await store?.close();
    await database?.drop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  async function instance(over: EventStore = store) {
    const table = await ApiKeyTable.start(store, silent);
    tables.push(table);
    const dir = mkdtempSync(join(tmpdir(), 'ledger-bootstrap-'));
    dirs.push(dir);
    const lines: string[] = [];
    const logger = { info: (_fields: object, message: string) => void lines.push(message) };
    return {
      dir,
      lines,
      bootstrap: () => bootstrapLocalKeys(over, new ApiKeyAdmin(over, table, systemClock), dir, logger),
    };
  }

  it('lets the instance whose append expects no stream lose quietly: no keys, no file, one line saying why', async () => {
    const first = await instance();
    // The second instance looked before the first one's keys were recorded (the race of two first starts).
    const lookedTooEarly = Object.assign(Object.create(store) as EventStore, { streamExists: async () => false });
    const second = await instance(lookedTooEarly);

    // (a credentials file of another database is in the first one's data directory)
    const stale = '{ "version": 1, "keys": [] }\n';
    writeFileSync(join(first.dir, 'credentials'), stale, { mode: 0o600 });

    expect(await first.bootstrap()).toBe('created');
    expect(await second.bootstrap()).toBe('created-by-another-instance');

    expect((await store.readStream(PRINCIPALS_STREAM)).map((event) => event.data.name)).toEqual([
      'local-admin',
      'local-gateway',
      'local-security',
    ]);
    const [kept, ...others] = readdirSync(first.dir).filter((name) => name !== 'credentials');
    expect(others).toEqual([]);
    expect(kept).toMatch(/^credentials\.replaced-/);
    expect(readFileSync(join(first.dir, kept!), 'utf8')).toBe(stale);
    expect(readLocalCredentials(first.dir)?.keys.map((key) => key.name)).toEqual([
      'local-admin',
      'local-gateway',
      'local-security',
    ]);
    expect(readdirSync(second.dir)).toEqual([]); // the prepared file was dropped, not left as a .tmp
    expect(first.lines).toEqual([expect.stringMatching(/^first start: created the API keys local-admin \(admin\)/)]);
    expect(first.lines[0]).toContain(`the file that was there is now ${join(first.dir, kept!)}`);
    expect(second.lines).toEqual([expect.stringContaining('another ledger instance created the first API keys')]);
  });

  it('creates nothing when the principals stream exists', async () => {
    const later = await instance();
    expect(await later.bootstrap()).toBe('exists');
    expect(readdirSync(later.dir)).toEqual([]);
    expect(later.lines).toEqual([]);
  });
});

describe('startIdentity when another instance writes the first keys while this one starts', () => {
  let database: TestDatabase;
  let store: PostgresEventStore;
  const dirs: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    store = await PostgresEventStore.connect({ connectionString: database.url, poolSize: 3, logger: silent });
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'ledger-identity-'));
    dirs.push(dir);
    return dir;
  };

  it('knows those keys as soon as it has started, without waiting for its subscription', async () => {
    // given an instance whose key table read an empty `principals` stream and whose subscription is slow (a loaded
    // machine: it delivers only after the assertions), and another instance that records its first keys right after
    // that read, before this one checks whether the stream exists
    const otherDir = dataDir();
    let release = () => undefined as void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const writesMeanwhile = Object.assign(Object.create(store) as EventStore, {
      streamExists: async (streamId: string) => {
        const otherTable = await ApiKeyTable.start(store, silent);
        await bootstrapLocalKeys(store, new ApiKeyAdmin(store, otherTable, systemClock), otherDir, silent);
        await otherTable.close();
        return store.streamExists(streamId);
      },
      subscribeToAll: (options?: SubscribeToAllOptions) => heldBack(store.subscribeToAll(options), held),
    });
    // when this instance starts
    const identity = await startIdentity({
      store: writesMeanwhile,
      dataDir: dataDir(),
      logger: pino({ level: 'silent' }),
    });
    try {
      // then it created nothing, and every key the other one wrote authenticates here at once
      expect(identity.bootstrap).toBe('exists');
      const keys = readLocalCredentials(otherDir)!.keys;
      expect(keys).toHaveLength(3);
      for (const { name, key } of keys) {
        await expect(identity.authenticator.authenticate(key)).resolves.toMatchObject({ kind: 'api-key', name });
      }
    } finally {
      release();
      await identity.stop();
    }
  });
});

/** The real subscription, delivering only once `held` resolves. */
function heldBack(inner: Subscription, held: Promise<void>): Subscription {
  return {
    get position() {
      return inner.position;
    },
    get isAlive() {
      return inner.isAlive;
    },
    close: () => inner.close(),
    async *[Symbol.asyncIterator]() {
      await held;
      yield* inner;
    },
  };
}
