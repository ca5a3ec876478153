import type { EventStore } from '@audit-ledger/event-store';
import type { LedgerMetrics } from './ledger-metrics.js';

/** Times every append of `store` into the metrics (the instance's own method is wrapped; its type is unchanged). */
export function observeAppends<S extends EventStore>(store: S, metrics: LedgerMetrics): S {
  const append = store.appendToStream.bind(store);
  store.appendToStream = async (streamId, events, options) => {
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const result = await append(streamId, events, options);
      metrics.appended(events.length, seconds(), result.idempotentReplay ? 'replay' : 'appended');
      return result;
    } catch (error) {
      metrics.appended(events.length, seconds(), 'failed');
      throw error;
    }
  };
  return store;
}
