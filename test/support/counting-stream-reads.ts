import type { EventStore } from '@audit-ledger/event-store';

/** `store` with its `readStream` calls counted (`reads()`); every other member is the store's own. */
export function countingStreamReads<S extends EventStore>(store: S): { store: S; reads: () => number } {
  let reads = 0;
  const counting = new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'readStream') {
        return (...args: Parameters<EventStore['readStream']>) => {
          reads++;
          return target.readStream(...args);
        };
      }
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
  return { store: counting, reads: () => reads };
}
