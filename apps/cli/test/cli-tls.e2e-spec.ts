import type { CommandAck } from '@audit-ledger/domain';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
    const principalsFile = join(pki.dir, 'principals.json');
    writeFileSync(principalsFile, JSON.stringify([{ cn: 'cli.example', name: 'cli-tls', roles: ['gateway'] }]));
    t = await startLedgerUnderTest({
      tlsCertFile: pki.server.certFile,
      tlsKeyFile: pki.server.keyFile,
      tlsCaFile: pki.ca.certFile,
      tlsClientCert: 'required',
      tlsClientPrincipalsFile: principalsFile,
      checkpointsEnabled: false,
    });
    workDir = mkdtempSync(join(pki.dir, 'cli-'));
  });
  afterAll(async () => {
    await t?.stop();
    pki?.remove();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  // No key given: the CLI finds the key its command needs where the ledger's first start wrote them, unless
  // `withoutKeys` points it at a directory holding none (its client certificate must then speak for it).
  const ledger = (args: string[], tls: string[], { withoutKeys = false } = {}) =>
    runLedgerBin([...args, '--port', String(t.ledger.tcpPort), '--http-port', String(t.ledger.httpPort), ...tls], {
      cwd: workDir,
      env: {
        LEDGER_TLS_CA_FILE: '',
        LEDGER_TLS_CLIENT_CERT_FILE: '',
        LEDGER_TLS_CLIENT_KEY_FILE: '',
        LEDGER_API_KEY: '',
        LEDGER_DATA_DIR: withoutKeys ? join(workDir, 'no-credentials-here') : t.ledger.config.dataDir,
      },
    });

  it("given --tls-ca, --tls-cert and --tls-key of a mapped certificate and no API key, then log-execution is acknowledged over TLS as the certificate's principal, and read works over HTTPS", async () => {
    const client = pki.client('cli.example');
    const tls = ['--tls-ca', pki.ca.certFile, '--tls-cert', client.certFile, '--tls-key', client.keyFile];
    const logged = await ledger(
      [
        'log-execution',
        ...['--approval', 'T1', '--worker', 'w1', '--command', 'ls', '--exit-code', '0', '--json'],
        ...['--spool-dir', join(workDir, 'spool')],
      ],
      tls,
      { withoutKeys: true },
    );
    expect(logged).toMatchObject({ code: 0, stderr: '' });
    const { ack } = JSON.parse(logged.stdout) as { ack: CommandAck };
    expect(ack).toMatchObject({ streamId: 'approval-T1', duplicate: false });
    const [row] = await t.sql<{ actor: string }>(
      `SELECT metadata->>'actor' AS actor FROM ledger.events WHERE stream_id = $1`,
      [ack.streamId],
    );
    expect(row?.actor).toBe('cert:cli-tls');

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
