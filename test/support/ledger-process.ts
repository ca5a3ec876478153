import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { reachable } from './reachable.js';

export const LEDGER_MAIN = fileURLToPath(new URL('../../apps/ledger/dist/main.js', import.meta.url));

export interface LedgerProcess {
  child: ChildProcess;
  output: () => string;
  /** SIGKILL: no shutdown hook runs. */
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/** The built ledger (`npm start`'s entry) as a real OS process, ready when its TCP port accepts connections. */
export async function spawnLedger(env: Record<string, string>, tcpPort: number): Promise<LedgerProcess> {
  if (!existsSync(LEDGER_MAIN)) throw new Error(`${LEDGER_MAIN} is missing: run \`npm run build\` (npm test does)`);
  const child = spawn(process.execPath, [LEDGER_MAIN], {
    env: { ...process.env, LEDGER_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`ledger exited with ${child.exitCode}: ${output}`);
    if (await reachable('127.0.0.1', tcpPort, 200)) break;
    await sleep(100);
    if (i === 299) throw new Error(`ledger did not listen on ${tcpPort} within 30 s: ${output}`);
  }
  return {
    child,
    output: () => output,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
