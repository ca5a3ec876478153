import { loadConfig } from '../config/ledger.config.js';
import { assertNoPlaintextExposure, isLoopback } from './loopback-only.js';

describe('loopback only without TLS', () => {
  it.each(['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', '::ffff:127.0.0.1'])(
    'takes %s for loopback',
    (host) => expect(isLoopback(host)).toBe(true),
  );

  it.each(['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'ledger.example.com', '::ffff:10.0.0.1', '128.0.0.1'])(
    'takes %s for an address beyond this machine',
    (host) => expect(isLoopback(host)).toBe(false),
  );

  it('refuses a non-loopback TCP host without TLS, but not over NATS (the TCP transport is not listening then)', () => {
    expect(() => assertNoPlaintextExposure(loadConfig({ tcpHost: '0.0.0.0' }, {}))).toThrow('LEDGER_TCP_HOST=0.0.0.0');
    expect(() => assertNoPlaintextExposure(loadConfig({ tcpHost: '0.0.0.0', transport: 'nats' }, {}))).not.toThrow();
  });

  it('lets any address through once TLS is configured, and the loopback default without', () => {
    const tls = { tlsCertFile: '/etc/ledger/cert.pem', tlsKeyFile: '/etc/ledger/key.pem' };
    expect(() =>
      assertNoPlaintextExposure(loadConfig({ ...tls, tcpHost: '0.0.0.0', httpHost: '::' }, {})),
    ).not.toThrow();
    expect(() => assertNoPlaintextExposure(loadConfig({}, {}))).not.toThrow();
  });
});
