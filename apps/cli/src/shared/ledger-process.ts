import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** How the ledger process ended: its exit code, and the stop signal this process forwarded to it, if any. */
export interface LedgerProcessEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
  forwarded: (typeof STOP_SIGNALS)[number] | undefined;
}

/**
 * The ledger app's built entry point (`@audit-ledger/ledger/main`, its dist/main.js), resolved through the package:
 * the CLI runs the app, it never imports the app's code. Undefined when the app is not installed or not built.
 */
export function ledgerMain(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve('@audit-ledger/ledger/main');
  } catch {
    return undefined;
  }
}

/**
 * Runs the ledger app as a child process with this process's stdio and environment plus `env`, forwards SIGINT and
 * SIGTERM to it (it closes its transports, store and embedded PostgreSQL, then exits) and resolves when it has
 * exited, so that a signal to this PID, the one a process manager holds, stops everything.
 */
export function runLedgerProcess(main: string, env: Record<string, string>): Promise<LedgerProcessEnd> {
  const child = spawn(process.execPath, [main], { stdio: 'inherit', env: { ...process.env, ...env } });
  let forwarded: LedgerProcessEnd['forwarded'];
  const forward = STOP_SIGNALS.map((name) => {
    const handler = () => {
      forwarded ??= name;
      child.kill(name);
    };
    process.on(name, handler);
    return [name, handler] as const;
  });
  return new Promise<LedgerProcessEnd>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ code, signal, forwarded }));
  }).finally(() => {
    for (const [name, handler] of forward) process.off(name, handler);
  });
}
