import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Redactor } from '@audit-ledger/domain';
import { deriveRedactionKey, redactionFingerprint } from '@audit-ledger/integrity';
import { anExecution } from '../../../test/support/fixtures.js';
import { CLIENT_REDACTION_KEY_FILE, LedgerClient, silentLogger, type LedgerClientOptions } from '../src/index.js';
import { ScriptedTransport, unavailable } from './support/scripted-transport.js';
import { SpoolDir } from './support/spool-dir.js';

const GITHUB_TOKEN = `ghp_${'Zq8rT2vX6y'.repeat(3)}Zq8rT2`;
const PASSWORD = 'S3cr3t-pa55w0rd-42';

describe('redaction in the ledger client', () => {
  let dir: SpoolDir;
  const clients: LedgerClient[] = [];
  const clientOn = (transport: ScriptedTransport, options: Pick<LedgerClientOptions, 'redaction'> = {}) => {
    const client = new LedgerClient({
      ledgerTransport: transport,
      spoolDir: dir.path,
      backgroundDrain: false,
      lockWaitMs: 100,
      logger: silentLogger,
      ...options,
    });
    clients.push(client);
    return client;
  };
  const everySpoolFile = () =>
    readdirSync(dir.path)
      .filter((name) => statSync(join(dir.path, name)).isFile())
      .map((name) => readFileSync(join(dir.path, name), 'utf8'))
      .join('\n');

  beforeEach(() => (dir = new SpoolDir()));
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    dir.remove();
  });

  const secretExecution = anExecution({
    approvalId: 'A1',
    occurredAt: '2026-11-23T10:00:02.000Z',
    command: `git clone https://ci:${PASSWORD}@git.example.com/app.git`,
    output: `token ${GITHUB_TOKEN}\ncloned\n`,
    artifacts: [{ path: `/tmp/${GITHUB_TOKEN}`, sha256: 'c'.repeat(64), bytes: 1 }],
  });

  it('never writes a secret to the spool files, and keeps the digest of the output as it ran', async () => {
    const transport = new ScriptedTransport(unavailable);
    const result = await clientOn(transport).logExecution(secretExecution);
    expect(result.status).toBe('spooled');
    const spooled = dir.text('entries');
    expect(spooled).toMatch(/\[REDACTED:github-token:[0-9a-f]{8}\]/);
    expect(spooled).toMatch(/https:\/\/ci:\[REDACTED:url-password:[0-9a-f]{8}\]@git/);
    expect(everySpoolFile()).not.toContain(GITHUB_TOKEN);
    expect(everySpoolFile()).not.toContain(PASSWORD);
    const [entry] = dir.jsonLines('entries') as { payload: { outputDigest: unknown } }[];
    expect(entry!.payload.outputDigest).toEqual({
      sha256: createHash('sha256').update(secretExecution.output!).digest('hex'),
      bytes: Buffer.byteLength(secretExecution.output!),
    });
    expect(statSync(join(dir.path, CLIENT_REDACTION_KEY_FILE)).mode & 0o777).toBe(0o600);
  });

  it('redacts a resubmitted command the same way after a restart (its key is kept in the spool directory)', async () => {
    const first = new ScriptedTransport();
    await clientOn(first).logExecution(secretExecution);
    await clients.pop()!.close();
    const second = new ScriptedTransport();
    await clientOn(second).logExecution(secretExecution);
    expect(second.sent[0]!.payload).toEqual(first.sent[0]!.payload);
    expect(JSON.stringify(first.sent[0]!.payload)).not.toContain(GITHUB_TOKEN);
  });

  it('writes the markers the ledger writes when given the ledger token secret', async () => {
    const transport = new ScriptedTransport();
    const tokenSecret = 'the-ledger-token-hmac-secret';
    await clientOn(transport, { redaction: { key: tokenSecret } }).logExecution(secretExecution);
    // What the ledger builds from LEDGER_TOKEN_HMAC_SECRET (apps/ledger/src/redaction/ledger-redactor.ts).
    const ledgers = new Redactor(redactionFingerprint(deriveRedactionKey(tokenSecret)));
    const sent = transport.sent[0]!.payload as { command: string; output: string };
    expect(sent.command).toBe(ledgers.redact(secretExecution.command!).text);
    expect(sent.output).toBe(ledgers.redact(secretExecution.output!).text);
  });

  it('sends the texts as given when redaction is off', async () => {
    const transport = new ScriptedTransport();
    await clientOn(transport, { redaction: false }).logExecution(secretExecution);
    expect(JSON.stringify(transport.sent[0]!.payload)).toContain(GITHUB_TOKEN);
  });
});
