import type { CommandAck } from '@audit-ledger/domain';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startLedgerUnderTest, type LedgerUnderTest } from '../../../test/support/ledger-app.js';
import { createTestPki, opensslAvailable, type TestPki } from '../../../test/support/test-certificates.js';
import { runLedgerBin } from './support/run-bin.js';

const canRun = opensslAvailable();
if (!canRun) console.log('CLI TLS tests skipped: openssl is not installed (they generate their certificates with it)');

(canRun ? describe : describe.skip)('the ledger CLI against a ledger that speaks TLS only', () => {
  let pki: TestPki;
  let t: LedgerUnderTest;
  let workDir: string;
  beforeAll(async () => {
    pki = createTestPki();
    t = await startLedgerUnderTest({
      tlsCertFile: pki.server.certFile,
      tlsKeyFile: pki.server.keyFile,
      tlsCaFile: pki.ca.certFile,
      tlsClientCert: 'required',
      checkpointsEnabled: false,
    });
    workDir = mkdtempSync(join(pki.dir, 'cli-'));
  });
  afterAll(async () => {
    await t?.stop();
    pki?.remove();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  const ledger = (args: string[], tls: string[]) =>
    runLedgerBin([...args, '--port', String(t.ledger.tcpPort), '--http-port', String(t.ledger.httpPort), ...tls], {
      cwd: workDir,
      env: { LEDGER_TLS_CA_FILE: '', LEDGER_TLS_CLIENT_CERT_FILE: '', LEDGER_TLS_CLIENT_KEY_FILE: '' },
    });

  it('given --tls-ca, --tls-cert and --tls-key, then log-execution is acknowledged over TLS and read works over HTTPS', async () => {
    const client = pki.client('cli.example');
    const tls = ['--tls-ca', pki.ca.certFile, '--tls-cert', client.certFile, '--tls-key', client.keyFile];
    const logged = await ledger(
      [
        'log-execution',
        ...['--approval', 'T1', '--worker', 'w1', '--command', 'ls', '--exit-code', '0', '--json'],
        ...['--spool-dir', join(workDir, 'spool')],
      ],
      tls,
    );
    expect(logged).toMatchObject({ code: 0, stderr: '' });
    const { ack } = JSON.parse(logged.stdout) as { ack: CommandAck };
    expect(ack).toMatchObject({ streamId: 'approval-T1', duplicate: false });

    const read = await ledger(['read', 'approval-T1', '--json'], ['--tls-ca', pki.ca.certFile]);
    expect(read.code).toBe(0);
    expect(JSON.parse(read.stdout)).toMatchObject({ events: [{ type: 'ExecutionLogged', hash: ack.hash }] });
  });

  it('given --http-url with the https scheme, then read uses it', async () => {
    const read = await ledger(
      ['read', 'approval-T1', '--json', '--http-url', `https://localhost:${t.ledger.httpPort}/`],
      ['--tls-ca', pki.ca.certFile],
    );
    expect(read.code).toBe(0);
  });

  it('given no CA, then read over plain HTTP fails saying the HTTP API does not answer', async () => {
    const read = await ledger(['read', 'approval-T1'], []);
    expect(read.code).toBe(1);
    expect(read.stderr).toContain(`http://127.0.0.1:${t.ledger.httpPort} does not answer`);
  });
});
