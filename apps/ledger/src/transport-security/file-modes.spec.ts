import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertSecretFile, assertTrustedFile, InsecureFileError } from './file-modes.js';

describe('permissions of key and trust files', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-modes-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const fileWithMode = (mode: number) => {
    const file = join(dir, `f-${mode.toString(8)}`);
    writeFileSync(file, 'x');
    chmodSync(file, mode);
    return file;
  };

  it.each([0o600, 0o400, 0o640])('accepts a secret file of mode %o', (mode) => {
    expect(() => assertSecretFile(fileWithMode(mode), 'LEDGER_TLS_KEY_FILE')).not.toThrow();
  });

  it.each([0o644, 0o604, 0o660, 0o602])('refuses a secret file of mode %o, saying how to fix it', (mode) => {
    const file = fileWithMode(mode);
    expect(() => assertSecretFile(file, 'LEDGER_TLS_KEY_FILE')).toThrow(InsecureFileError);
    expect(() => assertSecretFile(file, 'LEDGER_TLS_KEY_FILE')).toThrow(`LEDGER_TLS_KEY_FILE=${file}`);
    expect(() => assertSecretFile(file, 'LEDGER_TLS_KEY_FILE')).toThrow(`chmod 600 ${file}`);
  });

  it.each([0o644, 0o444, 0o600])('accepts a trusted (public) file of mode %o', (mode) => {
    expect(() => assertTrustedFile(fileWithMode(mode), 'LEDGER_TLS_CA_FILE')).not.toThrow();
  });

  it.each([0o664, 0o646, 0o666])('refuses a trusted file others may change (mode %o)', (mode) => {
    expect(() => assertTrustedFile(fileWithMode(mode), 'LEDGER_TLS_CA_FILE')).toThrow('chmod go-w');
  });

  it('refuses a missing file or a directory, naming the variable', () => {
    expect(() => assertSecretFile(join(dir, 'missing'), 'LEDGER_NATS_CREDS_FILE')).toThrow('LEDGER_NATS_CREDS_FILE=');
    expect(() => assertTrustedFile(dir, 'LEDGER_TLS_CERT_FILE')).toThrow('is not a file');
  });
});
