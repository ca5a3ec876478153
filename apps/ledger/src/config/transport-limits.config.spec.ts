import { DEFAULT_TCP_MAX_FRAME_BYTES, loadConfig } from './ledger.config.js';

describe('transport limit settings', () => {
  it('have bounded defaults', () => {
    const config = loadConfig({}, {});
    expect(config).toMatchObject({
      tcpMaxFrameBytes: DEFAULT_TCP_MAX_FRAME_BYTES,
      tcpMaxBufferedBytes: 256 * 1024 * 1024,
      tcpMaxConnections: 1000,
      tcpIdleTimeoutMs: 300_000,
      tcpFrameTimeoutMs: 60_000,
      httpHeadersTimeoutMs: 20_000,
      httpRequestTimeoutMs: 120_000,
      httpKeepAliveTimeoutMs: 5_000,
      httpIdleTimeoutMs: 120_000,
      httpMaxConnections: 1000,
    });
  });

  it('are read from the environment', () => {
    const config = loadConfig({}, { LEDGER_TCP_MAX_FRAME_BYTES: '65536', LEDGER_TCP_MAX_CONNECTIONS: '8' });
    expect(config).toMatchObject({ tcpMaxFrameBytes: 65_536, tcpMaxConnections: 8 });
  });

  it('refuse a buffer budget smaller than one frame, naming both variables', () => {
    expect(() =>
      loadConfig({}, { LEDGER_TCP_MAX_FRAME_BYTES: '65536', LEDGER_TCP_MAX_BUFFERED_BYTES: '4096' }),
    ).toThrow(/LEDGER_TCP_MAX_BUFFERED_BYTES: must be at least LEDGER_TCP_MAX_FRAME_BYTES/);
  });

  it('refuse a headers timeout longer than the request timeout', () => {
    expect(() =>
      loadConfig({}, { LEDGER_HTTP_HEADERS_TIMEOUT_MS: '5000', LEDGER_HTTP_REQUEST_TIMEOUT_MS: '1000' }),
    ).toThrow(/LEDGER_HTTP_HEADERS_TIMEOUT_MS/);
  });

  it('refuse a negative or non-numeric limit, naming the variable', () => {
    expect(() => loadConfig({}, { LEDGER_TCP_MAX_CONNECTIONS: '-1' })).toThrow(/LEDGER_TCP_MAX_CONNECTIONS/);
    expect(() => loadConfig({}, { LEDGER_TCP_FRAME_TIMEOUT_MS: 'soon' })).toThrow(/LEDGER_TCP_FRAME_TIMEOUT_MS/);
  });
});
