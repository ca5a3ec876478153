import { InvalidConfigError, loadConfig } from './ledger.config.js';

describe('transport security settings', () => {
  it('reads every TLS and NATS credential variable from the environment', () => {
    const config = loadConfig(
      {},
      {
        LEDGER_TLS_CERT_FILE: '/c.pem',
        LEDGER_TLS_KEY_FILE: '/k.pem',
        LEDGER_TLS_CA_FILE: '/ca.pem',
        LEDGER_TLS_CLIENT_CERT: 'required',
        LEDGER_TLS_CLIENT_PRINCIPALS_FILE: '/p.json',
        LEDGER_TLS_HANDSHAKE_TIMEOUT_MS: '2000',
        LEDGER_NATS_TOKEN: 's3cret',
      },
    );
    expect(config).toMatchObject({
      tlsCertFile: '/c.pem',
      tlsKeyFile: '/k.pem',
      tlsCaFile: '/ca.pem',
      tlsClientCert: 'required',
      tlsClientPrincipalsFile: '/p.json',
      tlsHandshakeTimeoutMs: 2000,
      natsToken: 's3cret',
    });
  });

  it.each([
    ['a certificate without its key', { tlsCertFile: '/c.pem' }, 'LEDGER_TLS_KEY_FILE'],
    ['client certificates without TLS', { tlsClientCert: 'optional' as const, tlsCaFile: '/ca' }, 'requires TLS'],
    [
      'client certificates without a CA',
      { tlsCertFile: '/c', tlsKeyFile: '/k', tlsClientCert: 'required' as const },
      'LEDGER_TLS_CA_FILE: required',
    ],
    [
      'a principals file with client certificates off',
      { tlsCertFile: '/c', tlsKeyFile: '/k', tlsClientPrincipalsFile: '/p' },
      'LEDGER_TLS_CLIENT_CERT=optional or required',
    ],
    ['a NATS user without a password', { natsUser: 'ledger' }, 'LEDGER_NATS_PASSWORD'],
    ['two NATS credentials', { natsToken: 't', natsCredsFile: '/n.creds' }, 'choose one'],
  ])('refuses %s, naming what to set', (_, overrides, named) => {
    expect(() => loadConfig(overrides, {})).toThrow(InvalidConfigError);
    expect(() => loadConfig(overrides, {})).toThrow(named);
  });
});
