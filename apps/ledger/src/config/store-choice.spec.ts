import { loadConfig } from './ledger.config.js';
import { assertEventStoreSupported, NEEDS_POSTGRES_EVENTS } from './store-choice.js';

describe('choosing the event store', () => {
  it('given the default, then PostgreSQL is used and nothing is refused', () => {
    const config = loadConfig({}, {});
    expect(config.eventStore).toBe('postgres');
    expect(() => assertEventStoreSupported(config)).not.toThrow();
  });

  it('given LEDGER_EVENT_STORE=kurrentdb with its URL, then the start is refused naming every part that needs PostgreSQL events', () => {
    const config = loadConfig(
      {},
      { LEDGER_EVENT_STORE: 'kurrentdb', KURRENTDB_URL: 'kurrentdb://127.0.0.1:2113?tls=false' },
    );
    expect(() => assertEventStoreSupported(config)).toThrow(
      expect.objectContaining({ code: 'CONFIG.EVENT_STORE_UNSUPPORTED' }) as Error,
    );
    try {
      assertEventStoreSupported(config);
    } catch (error) {
      for (const part of NEEDS_POSTGRES_EVENTS) expect((error as Error).message).toContain(part);
    }
  });

  it('given kurrentdb without a URL, then the refusal names the missing variable', () => {
    const config = loadConfig({}, { LEDGER_EVENT_STORE: 'kurrentdb' });
    expect(() => assertEventStoreSupported(config)).toThrow(/KURRENTDB_URL/);
  });

  it('given an unknown store, then the configuration is refused naming the variable', () => {
    expect(() => loadConfig({}, { LEDGER_EVENT_STORE: 'sqlite' })).toThrow(/LEDGER_EVENT_STORE/);
  });
});
