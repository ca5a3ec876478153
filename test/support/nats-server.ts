import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../apps/ledger/src/shared/free-port.js';
import { reachable } from './reachable.js';
import { within } from './within.js';

/** A `nats-server` this test started, on a free port of 127.0.0.1. */
export interface SpawnedNatsServer {
  url: string;
  /** The server's HTTP monitoring endpoint (`/connz`, `/subsz`), when started with `{ monitoring: true }`. */
  monitorUrl?: string;
  stop(): Promise<void>;
}

/** Path of the `nats-server` binary, or undefined when it is not installed (the tests that need it then skip). */
export function natsServerBinary(): string | undefined {
  try {
    execFileSync('nats-server', ['--version'], { stdio: 'ignore' });
    return 'nats-server';
  } catch {
    return undefined;
  }
}

/**
 * Starts `nats-server` with `authorization` (the body of a nats-server `authorization { … }` block, e.g.
 * `user: a, password: b` or `token: t` or `users: [{ nkey: U… }]`) and waits until it accepts connections.
 */
export async function startNatsServer(
  authorization: string,
  options: { monitoring?: boolean } = {},
): Promise<SpawnedNatsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-nats-'));
  const port = await freePort('127.0.0.1');
  const monitorPort = options.monitoring ? await freePort('127.0.0.1') : undefined;
  const config = join(dir, 'nats.conf');
  writeFileSync(
    config,
    `listen: "127.0.0.1:${port}"\n` +
      (monitorPort ? `http: "127.0.0.1:${monitorPort}"\n` : '') +
      `authorization {\n  ${authorization}\n}\n`,
  );
  const child: ChildProcess = spawn('nats-server', ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await within(10_000, `nats-server listening on ${port}`, async () => {
      if (child.exitCode !== null) throw new Error(`nats-server exited (${child.exitCode}): ${output}`);
      return (await reachable('127.0.0.1', port)) ? true : undefined;
    });
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    ...(monitorPort ? { monitorUrl: `http://127.0.0.1:${monitorPort}` } : {}),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
