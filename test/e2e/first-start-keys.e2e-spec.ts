import { readLocalCredentials } from '@audit-ledger/client';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { RunningLedger } from '../../apps/ledger/src/index.js';
import { startTestLedger } from '../support/ledger-app.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

describe('first start: the local API keys', () => {
  let database: TestDatabase;
  const ledgers: RunningLedger[] = [];
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'ledger-first-keys-'));
    dirs.push(dir);
    return dir;
  };

  beforeEach(async () => {
    database = await createTestDatabase();
  });
  afterEach(async () => {
    for (const ledger of ledgers.splice(0)) await ledger.close();
    await database.drop();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  const principalsEvents = async () => {
    const pool = new pg.Pool({ connectionString: database.url, max: 1 });
    try {
      return (
        await pool.query<{ type: string; name: string; actor: string }>(
          `SELECT type, data->>'name' AS name, metadata->>'actor' AS actor
             FROM ledger.events WHERE stream_id = 'principals' ORDER BY stream_revision`,
        )
      ).rows;
    } finally {
      await pool.end();
    }
  };

  it('given two instances starting together on an empty database, then exactly one creates the keys, into a 0600 file that authenticates on both', async () => {
    const [one, two] = [dataDir(), dataDir()];
    ledgers.push(
      ...(await Promise.all([
        startTestLedger(database.url, { dataDir: one, reconciliationEnabled: false }),
        startTestLedger(database.url, { dataDir: two, reconciliationEnabled: false }),
      ])),
    );

    expect(await principalsEvents()).toEqual([
      { type: 'ApiKeyIssued', name: 'local-admin', actor: 'system:bootstrap' },
      { type: 'ApiKeyIssued', name: 'local-gateway', actor: 'system:bootstrap' },
      { type: 'ApiKeyIssued', name: 'local-security', actor: 'system:bootstrap' },
    ]);
    const written = [one, two].filter((dir) => readLocalCredentials(dir) !== undefined);
    expect(written).toHaveLength(1);
    const dir = written[0]!;
    expect(statSync(join(dir, 'credentials')).mode & 0o777).toBe(0o600);
    const credentials = readLocalCredentials(dir)!;
    expect(credentials.keys.map(({ name, roles }) => ({ name, roles }))).toEqual([
      { name: 'local-admin', roles: ['admin'] },
      { name: 'local-gateway', roles: ['gateway'] },
      { name: 'local-security', roles: ['security'] },
    ]);
    for (const ledger of ledgers) {
      for (const { name, roles, key } of credentials.keys) {
        await expect(ledger.authenticator.authenticate(key)).resolves.toMatchObject({ kind: 'api-key', name, roles });
      }
    }
  });

  it('given a restart on a database that has principals, then no key is created again', async () => {
    const dir = dataDir();
    ledgers.push(await startTestLedger(database.url, { dataDir: dir, reconciliationEnabled: false }));
    const first = readLocalCredentials(dir)!;
    await ledgers.pop()!.close();
    ledgers.push(await startTestLedger(database.url, { dataDir: dir, reconciliationEnabled: false }));
    expect(readLocalCredentials(dir)).toEqual(first);
    expect(await principalsEvents()).toHaveLength(3);
  });

  it.each([
    ['credentials', '0644'],
    ['token-hmac.key', '0640'],
    ['pg-ledger_service.password', '0604'],
    [join('keys', 'signing.key'), '0644'],
  ])(
    'refuses to start when %s is readable by group or others (mode %s), naming the file and chmod 600',
    async (file, octal) => {
      const mode = parseInt(octal, 8);
      const dir = dataDir();
      ledgers.push(await startTestLedger(database.url, { dataDir: dir, reconciliationEnabled: false }));
      await ledgers.pop()!.close();
      const path = join(dir, file);
      if (file !== 'credentials' && file !== join('keys', 'signing.key'))
        writeFileSync(path, 'secret\n', { mode: 0o600 });
      chmodSync(path, mode);
      await expect(startTestLedger(database.url, { dataDir: dir, reconciliationEnabled: false })).rejects.toThrow(
        `${path} (mode ${octal})`,
      );
      await expect(startTestLedger(database.url, { dataDir: dir, reconciliationEnabled: false })).rejects.toThrow(
        `chmod 600 ${path}`,
      );
    },
  );

  it('starts with public keys readable by all (keys/*.pub are not secrets)', async () => {
    const dir = dataDir();
    ledgers.push(await startTestLedger(database.url, { dataDir: dir, reconciliationEnabled: false }));
    await ledgers.pop()!.close();
    ledgers.push(await startTestLedger(database.url, { dataDir: dir, reconciliationEnabled: false }));
    expect(ledgers).toHaveLength(1);
  });
});
