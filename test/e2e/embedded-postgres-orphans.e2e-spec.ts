import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { EmbeddedPostgresServer } from '../../libs/event-store/src/postgres/embedded-postgres.server.js';
import { freePort } from '../../apps/ledger/src/shared/free-port.js';
import { processAlive } from '../support/process-alive.js';

const SERVER_MODULE = fileURLToPath(
  new URL('../../libs/event-store/dist/postgres/embedded-postgres.server.js', import.meta.url),
);

describe('embedded PostgreSQL left behind by a killed process', () => {
  let parent: string;
  beforeAll(() => {
    parent = mkdtempSync(join(tmpdir(), 'ledger-orphans-'));
    chmodSync(parent, 0o755); // the server runs as the OS user postgres
  });
  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  it('given a process that started a cluster and was SIGKILLed, when the clusters are reaped, then its postgres is stopped and its directory removed', async () => {
    const clusterDir = join(parent, 'run-1');
    const port = await freePort();
    const script = `
      import { EmbeddedPostgresServer } from ${JSON.stringify(SERVER_MODULE)};
      await new EmbeddedPostgresServer({ dataDir: ${JSON.stringify(clusterDir)}, port: ${port}, ephemeral: true }).start();
      console.log('ready');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
    });
    const postmaster = Number.parseInt(readFileSync(join(clusterDir, 'postmaster.pid'), 'utf8'), 10);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    await sleep(100);
    expect(processAlive(postmaster)).toBe(true); // the orphan the harness must clean up

    const reaped = await EmbeddedPostgresServer.reapStaleClusters(parent);

    expect(reaped).toEqual([clusterDir]);
    expect(processAlive(postmaster)).toBe(false);
    expect(existsSync(clusterDir)).toBe(false);
    expect(existsSync(`${clusterDir}.owner.pid`)).toBe(false);
  });

  it('leaves alone a cluster whose owner is alive', async () => {
    const server = new EmbeddedPostgresServer({
      dataDir: join(parent, 'live'),
      port: await freePort(),
      ephemeral: true,
    });
    await server.start();
    try {
      expect(await EmbeddedPostgresServer.reapStaleClusters(parent)).toEqual([]);
      expect(existsSync(join(parent, 'live', 'PG_VERSION'))).toBe(true);
    } finally {
      await server.stop();
    }
    expect(existsSync(join(parent, 'live'))).toBe(false);
  });
});
