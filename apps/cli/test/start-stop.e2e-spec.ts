import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../ledger/src/shared/free-port.js';
import { processAlive } from '../../../test/support/process-alive.js';
import { descendantsOf } from '../../../test/support/process-tree.js';
import { collect, runLedgerBin, spawnLedgerBin } from './support/run-bin.js';

/**
 * `ledger start` runs the ledger app as its child (issue 16, items 5 and 10): SIGTERM to exactly the PID of
 * `ledger start`, the one a process manager holds, stops the ledger and its embedded PostgreSQL, and the command
 * exits 0; a ledger that refuses to start says why on stderr and the command exits non-zero.
 */
describe('ledger start', () => {
  let root: string;
  const leftovers: number[] = [];

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'ledger-cli-start-stop-'));
  });
  afterAll(async () => {
    // Whatever a failed run left behind: only the processes this test started.
    for (const pid of leftovers.filter(processAlive)) process.kill(pid, 'SIGKILL');
    await sleep(200);
    rmSync(root, { recursive: true, force: true });
  });

  it('given a ledger started on its embedded PostgreSQL, when SIGTERM reaches the ledger start PID, then nothing of it remains', async () => {
    const dataDir = join(root, 'sigterm');
    const [tcpPort, httpPort, pgPort] = [await freePort(), await freePort(), await freePort()];
    const command = spawnLedgerBin(['start', '--port', String(tcpPort), '--http-port', String(httpPort)], {
      cwd: root,
      env: {
        DATABASE_URL: '',
        LEDGER_DATA_DIR: dataDir,
        LEDGER_EMBEDDED_PG_PORT: String(pgPort),
        LEDGER_LOG_LEVEL: 'warn',
      },
    });
    leftovers.push(command.pid!);
    const exited = collect(command);

    let live = 0;
    for (let i = 0; i < 900 && live !== 200; i++) {
      if (command.exitCode !== null) throw new Error(`ledger start exited with ${command.exitCode}: ${await exited}`);
      // --http-port reached the ledger: it answers there.
      live = await fetch(`http://127.0.0.1:${httpPort}/health/live`)
        .then((response) => response.status)
        .catch(() => 0);
      if (live !== 200) await sleep(100);
    }
    expect(live).toBe(200);
    const postmaster = Number(readFileSync(join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
    const tree = descendantsOf(command.pid!);
    leftovers.push(...tree);
    expect(tree).toContain(postmaster);

    process.kill(command.pid!, 'SIGTERM');
    const run = await Promise.race([exited, sleep(60_000, undefined, { ref: false }).then(() => undefined)]);
    expect(run).toMatchObject({ code: 0, stderr: expect.stringContaining('ledger: SIGTERM, closed') });
    for (let i = 0; i < 50 && tree.some(processAlive); i++) await sleep(100);
    expect(tree.filter(processAlive)).toEqual([]);
    expect(existsSync(join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
  });

  it('given a configuration the ledger refuses, when started, then its reason is on stderr and the exit code is not 0', async () => {
    const run = await runLedgerBin(['start'], {
      cwd: root,
      env: { DATABASE_URL: '', LEDGER_DATA_DIR: join(root, 'refused'), LEDGER_LOG_LEVEL: 'loud' },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('audit-ledger failed to start: Invalid configuration: LEDGER_LOG_LEVEL');
    expect(run.stderr).not.toContain('    at '); // no stack trace
  });
});
