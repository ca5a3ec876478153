import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../apps/ledger/src/shared/free-port.js';
import { processAlive } from '../support/process-alive.js';
import { descendantsOf } from '../support/process-tree.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Issue 16, items 4 and 5: `npm start` as a process manager runs it. SIGTERM to exactly the PID it holds (npm's) stops
 * the ledger and its embedded PostgreSQL: no process of the tree remains, and the log has a readable start line, an
 * access log line, no stack trace and a final "stopped" line.
 */
describe('npm start, stopped by a signal', () => {
  let root: string;
  const started: ChildProcess[] = [];
  const trees: number[] = [];

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'ledger-npm-start-'));
  });
  afterAll(async () => {
    // Whatever a failed run left behind: only the processes this test started.
    for (const pid of [...started.map((child) => child.pid), ...trees]) {
      if (pid && processAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    for (const child of started) {
      child.stdout?.destroy();
      child.stderr?.destroy();
    }
    await sleep(200);
    rmSync(root, { recursive: true, force: true });
  });

  it.each([
    ['SIGTERM to npm’s PID (a process manager)', 'SIGTERM', 'pid'],
    ['SIGINT to the process group (Ctrl-C in a terminal)', 'SIGINT', 'group'],
  ] as const)(
    'given a ledger started by `npm start` on its embedded PostgreSQL, when %s, then nothing of it remains',
    async (_case, signal, target) => {
      const dataDir = join(root, signal);
      const [tcpPort, httpPort, pgPort] = [await freePort(), await freePort(), await freePort()];
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        LEDGER_DATA_DIR: dataDir,
        LEDGER_TCP_PORT: String(tcpPort),
        LEDGER_HTTP_PORT: String(httpPort),
        LEDGER_EMBEDDED_PG_PORT: String(pgPort),
        LEDGER_LOG_LEVEL: 'info',
      };
      delete env.DATABASE_URL;
      // A process group of its own, as a terminal's foreground job has.
      const child = spawn('npm', ['start'], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      started.push(child);
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      // npm exits 0 once the ledger did, or by the signal it forwarded: both are a clean stop for a process manager.
      const exited = new Promise<string>((resolve) =>
        child.once('exit', (code, by) => resolve(code === 0 || by === signal ? 'stopped' : `${code} ${by}`)),
      );

      let live = 0;
      for (let i = 0; i < 900 && live !== 200; i++) {
        if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}: ${output}`);
        live = await fetch(`http://127.0.0.1:${httpPort}/health/live`, { headers: { 'x-request-id': 'probe-1' } })
          .then((response) => response.status)
          .catch(() => 0);
        if (live !== 200) await sleep(100);
      }
      expect(live).toBe(200);
      const postmaster = Number(readFileSync(join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
      const tree = descendantsOf(child.pid!);
      trees.push(...tree);
      expect(tree).toContain(postmaster);

      process.kill(target === 'pid' ? child.pid! : -child.pid!, signal);
      const end = await Promise.race([exited, sleep(60_000, undefined, { ref: false }).then(() => 'still running')]);
      expect({ end, output: end === 'stopped' ? '' : output }).toEqual({ end: 'stopped', output: '' });
      for (let i = 0; i < 50 && tree.some(processAlive); i++) await sleep(100);
      expect(tree.filter(processAlive)).toEqual([]);
      expect(existsSync(join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);

      const lines = output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { level: number; msg: string; [key: string]: unknown });
      const messages = lines.map((line) => line.msg);
      expect(messages.find((msg) => msg.startsWith('audit-ledger ready:'))).toEqual(
        expect.stringContaining(`HTTP http://127.0.0.1:${httpPort}`),
      );
      expect(messages.find((msg) => msg.startsWith('audit-ledger ready:'))).toEqual(
        expect.stringContaining(`LEDGER_DATA_DIR=${dataDir}`),
      );
      expect(lines).toContainEqual(
        expect.objectContaining({ msg: 'http request', requestId: 'probe-1', url: '/health/live', status: 200 }),
      );
      expect(messages.filter((msg) => /Mapped \{/.test(msg))).toEqual([]);
      expect(messages.at(-1)).toBe('audit-ledger stopped');
      expect(output).not.toContain('    at '); // no stack trace, printed or inside a JSON log line
      expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    },
  );
});
