import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const LEDGER_BIN = fileURLToPath(new URL('../../bin/ledger.js', import.meta.url));
const BUILT_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Spawns the real `ledger` bin (asynchronously: the ledger under test runs in this process and must keep serving). */
export function spawnLedgerBin(args: string[], options: { cwd: string; env?: Record<string, string> }): ChildProcess {
  if (!existsSync(BUILT_MAIN)) throw new Error(`${BUILT_MAIN} is missing: run \`npx tsc -b tsconfig.build.json\``);
  return spawn(process.execPath, [LEDGER_BIN, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function runLedgerBin(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<CliRun> {
  const child = spawnLedgerBin(args, options);
  return collect(child);
}

export function collect(child: ChildProcess): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
