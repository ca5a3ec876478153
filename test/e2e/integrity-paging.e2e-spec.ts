import { MESSAGE_PATTERNS } from '@audit-ledger/domain';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveIntegrityKeys, verifyLedger } from '../../apps/ledger/src/integrity/index.js';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';

/** Streams longer than a page: revisions 10+ must follow 9, not 1 (text order would put "10" before "2"). */
describe('ledger verify on streams longer than its read pages', () => {
  let t: LedgerUnderTest;
  let dir: string;
  beforeAll(async () => {
    t = await startLedgerUnderTest();
    dir = mkdtempSync(join(tmpdir(), 'ledger-verify-paging-'));
  });
  afterAll(async () => {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('given an untouched stream of 25 events, when verified 4 rows at a time, then it is intact', async () => {
    const approval = anApproval();
    await t.send(MESSAGE_PATTERNS.grantApproval, approval);
    for (let i = 0; i < 24; i++) {
      await t.send(
        MESSAGE_PATTERNS.logExecution,
        anExecution({ approvalId: approval.approvalId, command: `echo ${i}` }),
      );
    }
    const keys = resolveIntegrityKeys({ dataDir: dir });

    const report = await verifyLedger({ databaseUrl: t.database.url, keys: keys.ring, batchSize: 4 });

    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.eventsChecked).toBeGreaterThanOrEqual(25);
  });
});
