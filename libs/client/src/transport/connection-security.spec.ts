import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { natsAuthOptions, tcpTlsOptions } from './connection-security.js';

describe('client connection security options', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'client-tls-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads file paths and passes buffers through', () => {
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, 'CA PEM');
    const options = tcpTlsOptions({ ca: caFile, cert: Buffer.from('CERT'), key: Buffer.from('KEY'), servername: 'x' });

    expect(options).toMatchObject({ ca: Buffer.from('CA PEM'), cert: Buffer.from('CERT'), key: Buffer.from('KEY') });
    expect(options.servername).toBe('x');
  });

  it('refuses a certificate without its key', () => {
    expect(() => tcpTlsOptions({ cert: Buffer.from('CERT') })).toThrow('give both cert and key');
  });

  it('maps user/password and token to the NATS connect options', async () => {
    expect(await natsAuthOptions({ user: 'u', password: 'p' })).toEqual({ user: 'u', pass: 'p' });
    expect(await natsAuthOptions({ token: 't' })).toEqual({ token: 't' });
  });
});
