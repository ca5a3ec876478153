import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM files of one key pair and its certificate, written into the test's directory. */
export interface CertificateFiles {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
  /** SHA-256 of the DER certificate, upper-case hex with colons (as `openssl x509 -fingerprint -sha256`). */
  sha256: string;
}

export interface TestPki {
  dir: string;
  ca: CertificateFiles;
  /** CN localhost, SAN localhost and 127.0.0.1, issued by `ca`. */
  server: CertificateFiles;
  /** Client certificates issued by `ca`, by CN. */
  client(cn: string): CertificateFiles;
  /** Another CA, trusted by no one: its certificates must be refused. */
  otherCa: CertificateFiles;
  otherClient(cn: string): CertificateFiles;
  remove(): void;
}

/** Whether `openssl` runs here (the TLS tests generate their certificates with it). */
export function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A fresh CA, a server certificate for 127.0.0.1 and client certificates on demand, in a temporary directory. */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-pki-'));
  const files = (name: string): CertificateFiles => {
    const certFile = join(dir, `${name}.crt`);
    const keyFile = join(dir, `${name}.key`);
    chmodSync(keyFile, 0o600);
    const cert = readFileSync(certFile);
    const fingerprint = execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256'], {
      encoding: 'utf8',
    });
    return { certFile, keyFile, cert, key: readFileSync(keyFile), sha256: fingerprint.trim().split('=')[1]! };
  };
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const makeCa = (name: string) => {
    openssl(
      [
        'req',
        '-x509',
        ...newKey,
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.crt`,
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
      ],
      dir,
    );
    return files(name);
  };
  const issue = (ca: string, name: string, cn: string, extensions: string) => {
    writeFileSync(join(dir, `${name}.ext`), extensions);
    openssl(['req', ...newKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${ca}.crt`,
        '-CAkey',
        `${ca}.key`,
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
      ],
      dir,
    );
    return files(name);
  };
  const clientExtensions = 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n';
  const ca = makeCa('test-ca');
  const otherCa = makeCa('other-ca');
  const server = issue(
    'test-ca',
    'server',
    'localhost',
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n',
  );
  const issued = new Map<string, CertificateFiles>();
  const once = (key: string, make: () => CertificateFiles) => {
    if (!issued.has(key)) issued.set(key, make());
    return issued.get(key)!;
  };
  return {
    dir,
    ca,
    server,
    otherCa,
    client: (cn) => once(`test-ca/${cn}`, () => issue('test-ca', `client-${issued.size}`, cn, clientExtensions)),
    otherClient: (cn) =>
      once(`other-ca/${cn}`, () => issue('other-ca', `other-client-${issued.size}`, cn, clientExtensions)),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
