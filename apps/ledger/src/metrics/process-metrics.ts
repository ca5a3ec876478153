import perfHooks from 'node:perf_hooks';
import { collectDefaultMetrics, Registry } from 'prom-client';

const KEY = Symbol.for('audit-ledger.process-metrics');

/**
 * The process's own series (event-loop lag, heap, GC, CPU, file descriptors), collected once per process: prom-client
 * starts an event-loop delay monitor and a GC observer for every registry it fills, and never stops them, so one per
 * ledger instance would pile up wherever a process starts several (tests, the CLI's embedded runs). Kept on the shared
 * `perf_hooks` module object, which every module instance of this file sees (Jest gives each test file its own).
 */
export function processMetrics(): Registry {
  const holder = perfHooks as unknown as Record<symbol, Registry | undefined>;
  let registry = holder[KEY];
  if (!registry) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'ledger_' });
    holder[KEY] = registry;
  }
  return registry;
}
