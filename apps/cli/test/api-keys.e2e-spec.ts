import { localKeyFor } from '@audit-ledger/client';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLedgerUnderTest, type LedgerUnderTest } from '../../../test/support/ledger-app.js';
import { runLedgerBin } from './support/run-bin.js';

interface ListedKey {
  keyId: string;
  name: string;
  roles: string[];
  status: string;
  revokeReason?: string;
}

describe('`ledger keys` (the built bin) against a running ledger', () => {
  let t: LedgerUnderTest;
  let workDir: string;
  let dataDir: string;
  const ledger = (args: string[], env: Record<string, string> = {}) =>
    runLedgerBin([...args, '--http-port', String(t.ledger.httpPort)], {
      cwd: workDir,
      env: { LEDGER_DATA_DIR: dataDir, ...env },
    });
  const authenticate = (key: string) =>
    t.ledger.authenticator.authenticate(key).then(
      (principal) => principal.id,
      (error: unknown) => `refused: ${(error as Error).message}`,
    );
  const list = async () => {
    const run = await ledger(['keys', 'list', '--json']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    // Without the keys the test support issues for its own callers (test-<role>).
    return (JSON.parse(run.stdout) as { keys: ListedKey[] }).keys.filter((key) => !key.name.startsWith('test-'));
  };

  beforeAll(async () => {
    t = await startLedgerUnderTest();
    dataDir = t.ledger.config.dataDir; // the first start wrote its credentials here
    workDir = mkdtempSync(join(tmpdir(), 'ledger-cli-keys-'));
  });
  afterAll(async () => {
    await t.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('issues a key with the local admin key, printing it once with a warning, and the ledger accepts it', async () => {
    const run = await ledger(['keys', 'issue', '--name', 'gw-prod', '--role', 'gateway', '--role', 'reader']);
    expect(run.code).toBe(0);
    const key = run.stdout.trim();
    expect(key).toMatch(/^alk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(run.stderr).toContain('for gw-prod (gateway, reader)');
    expect(run.stderr).toContain('Store this key now: it is shown only once');
    expect(await authenticate(key)).toBe(`key:gw-prod/${key.slice(4, 16)}`);
  });

  it('lists keys without a key or hash, as a table and as JSON, with the admin key from --api-key', async () => {
    const adminKey = localKeyFor(dataDir, 'admin')!;
    const table = await runLedgerBin(
      ['keys', 'list', '--api-key', adminKey, '--http-port', String(t.ledger.httpPort)],
      { cwd: workDir, env: { LEDGER_DATA_DIR: join(workDir, 'no-credentials-here') } },
    );
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^KEY ID\s+NAME\s+ROLES\s+STATUS\s+ISSUED\s+REVOKED$/);
    expect(table.stdout).toMatch(/gw-prod\s+gateway,reader\s+active/);
    expect(table.stdout).not.toMatch(/alk_|[0-9a-f]{64}/);
    expect((await list()).map((key) => [key.name, key.status])).toEqual([
      ['local-admin', 'active'],
      ['local-gateway', 'active'],
      ['local-security', 'active'],
      ['gw-prod', 'active'],
    ]);
  });

  it('revokes a key with the admin key from LEDGER_API_KEY: the ledger refuses it, the list shows why', async () => {
    const issued = await ledger(['keys', 'issue', '--name', 'to-revoke', '--role', 'reader']);
    const key = issued.stdout.trim();
    const keyId = key.slice(4, 16);
    const run = await ledger(['keys', 'revoke', keyId, '--reason', 'leaked'], {
      LEDGER_API_KEY: localKeyFor(dataDir, 'admin')!,
      LEDGER_DATA_DIR: join(workDir, 'no-credentials-here'),
    });
    expect(run).toMatchObject({ code: 0, stdout: `revoked ${keyId}\n` });
    expect(await authenticate(key)).toMatch(/^refused: .*was revoked/);
    expect((await list()).find((one) => one.keyId === keyId)).toMatchObject({
      status: 'revoked',
      revokeReason: 'leaked',
    });
    const again = await ledger(['keys', 'revoke', keyId]);
    expect(again.code).toBe(3);
    expect(again.stderr).toContain('PRINCIPALS.KEY_REVOKED');
  });

  it('rotates a key: the new one works under the same name, the old one is refused', async () => {
    const old = (await ledger(['keys', 'issue', '--name', 'gw-rotating', '--role', 'gateway'])).stdout.trim();
    const run = await ledger(['keys', 'rotate', old.slice(4, 16)]);
    expect(run.code).toBe(0);
    const successor = run.stdout.trim();
    expect(run.stderr).toContain(`replacing ${old.slice(4, 16)} (now revoked)`);
    expect(await authenticate(successor)).toBe(`key:gw-rotating/${successor.slice(4, 16)}`);
    expect(await authenticate(old)).toMatch(/^refused/);
  });

  it('refuses without an admin credential, and with a key that is not an admin', async () => {
    const none = await ledger(['keys', 'list'], { LEDGER_DATA_DIR: join(workDir, 'no-credentials-here') });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no admin credential: pass --api-key or set LEDGER_API_KEY');
    const gateway = await ledger(['keys', 'issue', '--name', 'x', '--role', 'admin'], {
      LEDGER_API_KEY: localKeyFor(dataDir, 'gateway')!,
    });
    expect(gateway.code).toBe(3);
    expect(gateway.stderr).toContain('AUTH.FORBIDDEN');
    const unknownRole = await ledger(['keys', 'issue', '--name', 'x', '--role', 'root']);
    expect(unknownRole.code).toBe(2);
    expect(unknownRole.stderr).toContain('Unknown role root');
  });

  it('still generates checkpoint signing keys', async () => {
    const out = join(workDir, 'signing');
    const run = await ledger(['keys', 'generate', '--out', out]);
    expect(run.code).toBe(0);
    const keyId = /key id (\S+)/.exec(run.stdout)![1]!;
    expect(existsSync(join(out, `${keyId}.key`))).toBe(true);
    expect(existsSync(join(out, `${keyId}.pub`))).toBe(true);
  });
});
