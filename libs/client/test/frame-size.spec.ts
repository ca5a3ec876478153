import { DEFAULT_TCP_MAX_FRAME_BYTES } from '../../../apps/ledger/src/config/ledger.config.js';
import { CLIENT_DEFAULTS, DEFAULT_MAX_FRAME_BYTES, LedgerClient, silentLogger } from '../src/index.js';
import { ScriptedTransport } from './support/scripted-transport.js';

describe("the client's maximum frame size", () => {
  it("defaults to the ledger's default LEDGER_TCP_MAX_FRAME_BYTES", () => {
    expect(DEFAULT_MAX_FRAME_BYTES).toBe(DEFAULT_TCP_MAX_FRAME_BYTES);
    expect(CLIENT_DEFAULTS.maxFrameBytes).toBe(DEFAULT_TCP_MAX_FRAME_BYTES);
  });

  it.each([0, -1, 1.5, Number.NaN])('given maxFrameBytes %p, then the client refuses to start, naming it', (value) => {
    expect(
      () => new LedgerClient({ ledgerTransport: new ScriptedTransport(), logger: silentLogger, maxFrameBytes: value }),
    ).toThrow(/maxFrameBytes/);
  });
});
