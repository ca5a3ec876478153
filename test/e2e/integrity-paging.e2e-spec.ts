import { MESSAGE_PATTERNS } from '@audit-ledger/domain';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveIntegrityKeys, verifyLedger } from '@audit-ledger/evidence';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';

/** Revisions 10+ must follow 9, not 1: the verifier sorts by the bigint columns (text order would put "10" before "2"). */
describe('ledger verify on streams of more than ten events', () => {
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

  it('given an untouched stream of 25 events, when verified, then it is intact', async () => {
    const approval = anApproval();
    await t.send(MESSAGE_PATTERNS.grantApproval, approval);
    for (let i = 0; i < 24; i++) {
      await t.send(
        MESSAGE_PATTERNS.logExecution,
        anExecution({ approvalId: approval.approvalId, command: `echo ${i}` }),
      );
    }
    const keys = resolveIntegrityKeys({ dataDir: dir });

    const report = await verifyLedger({ databaseUrl: t.database.url, keys: keys.ring });

    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.eventsChecked).toBeGreaterThanOrEqual(25);
  });
});
