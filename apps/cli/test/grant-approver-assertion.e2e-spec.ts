import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startJwksServer, TEST_AUDIENCE, type JwksServer } from '../../../test/support/jwks-server.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../../../test/support/ledger-app.js';
import { runLedgerBin } from './support/run-bin.js';

/** Issue 11 item 4 from the command line: `ledger grant --approver-assertion <jwt>`. */
describe('ledger grant --approver-assertion', () => {
  let idp: JwksServer;
  let t: LedgerUnderTest;
  let workDir: string;
  const ledger = (...args: string[]) =>
    runLedgerBin(
      [
        ...args,
        ...['--port', String(t.ledger.tcpPort), '--http-port', String(t.ledger.httpPort)],
        ...['--spool-dir', join(workDir, 'spool')],
      ],
      // No key given: the CLI finds the key its command needs where the ledger's first start wrote them.
      { cwd: workDir, env: { LEDGER_DATA_DIR: t.ledger.config.dataDir } },
    );
  const grant = (approvalId: string, ...extra: string[]) =>
    ledger(
      'grant',
      ...['--approval', approvalId, '--instruction', 'list containers', '--command', 'docker compose ps'],
      ...['--risk', 'safe', ...extra, '--json'],
    );

  beforeAll(async () => {
    idp = await startJwksServer();
    t = await startLedgerUnderTest({ oidcIssuer: idp.issuer, oidcAudience: TEST_AUDIENCE, projectionsEnabled: false });
    workDir = mkdtempSync(join(tmpdir(), 'ledger-cli-approver-'));
  });
  afterAll(async () => {
    await t?.stop();
    await idp?.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('records the verified subject as the approver, and `read` shows it proven', async () => {
    const assertion = await idp.sign({ sub: 'dana' });
    const run = await grant('A-cli-proven', '--approved-by', 'mallory', '--approver-assertion', assertion);
    expect(run).toMatchObject({ code: 0 });
    const read = await ledger('read', 'approval-A-cli-proven');
    const row = read.stdout.split('\n').find((line) => line.includes('ApprovalGranted'));
    expect(row).toContain('approvedBy=dana');
    expect(row).toContain('approverVerified=true');
    expect(read.stdout).not.toContain('mallory');
  });

  it('refuses an expired assertion, naming the code and the reason, and records nothing', async () => {
    const past = Math.floor(Date.now() / 1000) - 600;
    const assertion = await idp.sign({ sub: 'dana' }, { expiresAt: past, notBefore: past - 60 });
    const run = await grant('A-cli-expired', '--approver-assertion', assertion);
    expect(run.code).not.toBe(0);
    expect(run.stdout + run.stderr).toContain('APPROVAL.APPROVER_PROOF_INVALID');
    expect(run.stdout + run.stderr).toContain('expired');
    expect(await t.sql('SELECT 1 FROM ledger.events WHERE stream_id = $1', ['approval-A-cli-expired'])).toEqual([]);
  });
});
