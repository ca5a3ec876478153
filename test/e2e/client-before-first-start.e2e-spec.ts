import { LedgerClient, localKeyFor, silentLogger } from '@audit-ledger/client';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { RunningLedger } from '../../apps/ledger/src/index.js';
import { freePort } from '../../apps/ledger/src/shared/free-port.js';
import { anApproval } from '../support/fixtures.js';
import { startTestLedger } from '../support/ledger-app.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

/**
 * A gateway started from the same checkout before the ledger's first start (a machine booting both): its client finds
 * no local key yet. Once the ledger has written its keys, the client presents them: nothing it spooled meanwhile is
 * refused for want of a credential.
 */
describe('a client created before the ledger first started', () => {
  let database: TestDatabase;
  let ledger: RunningLedger | undefined;
  let client: LedgerClient | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'ledger-client-first-start-data-'));
  const spoolDir = mkdtempSync(join(tmpdir(), 'ledger-client-first-start-spool-'));
  const previousDataDir = process.env.LEDGER_DATA_DIR;

  beforeAll(async () => {
    database = await createTestDatabase();
    process.env.LEDGER_DATA_DIR = dataDir;
  });

  afterAll(async () => {
    if (previousDataDir === undefined) delete process.env.LEDGER_DATA_DIR;
    else process.env.LEDGER_DATA_DIR = previousDataDir;
    await client?.close();
    await ledger?.close();
    await database.drop();
    rmSync(spoolDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('presents the local gateway key once the ledger has written it, for what it spooled and what it sends next', async () => {
    // given a client whose checkout has no credentials yet, and no ledger listening
    const port = await freePort();
    client = new LedgerClient({ port, spoolDir, backgroundDrain: false, requestTimeoutMs: 1000, logger: silentLogger });
    const early = anApproval();
    expect(await client.grantApproval(early)).toMatchObject({ status: 'spooled' });

    // when the ledger starts for the first time in that data directory (writing its local keys)
    ledger = await startTestLedger(database.url, { dataDir, tcpPort: port });

    // then the spooled command and the next one are accepted under the local gateway key
    expect(await client.drainSpool()).toMatchObject({ sent: 1, rejected: 0, remaining: 0 });
    expect(await client.grantApproval(anApproval())).toMatchObject({ status: 'acknowledged' });
    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    const { rows } = await sql
      .query<{ actor: string }>(`SELECT metadata->>'actor' AS actor FROM ledger.events WHERE stream_id = $1`, [
        `approval-${early.approvalId}`,
      ])
      .finally(() => sql.end());
    const gateway = await ledger.authenticator.authenticate(localKeyFor(dataDir, 'gateway')!);
    expect(rows.map((row) => row.actor)).toEqual([gateway.id]);
  });
});
