import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../../apps/ledger/src/shared/free-port.js';
import { spawnLedger, type LedgerProcess } from '../support/ledger-process.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../apps/cli/bin/ledger.js', import.meta.url));

/** The README's promise: `npm start` on a machine with no database, then the CLI in a second terminal. */
describe('first run on a machine with no database', () => {
  let dataDir: string;
  let ledger: LedgerProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ledger-first-run-'));
    chmodSync(dataDir, 0o755); // the embedded server runs as the OS user postgres
    const tcpPort = await freePort();
    env = {
      DATABASE_URL: '',
      LEDGER_DATA_DIR: join(dataDir, 'data'),
      LEDGER_EMBEDDED_PG_PORT: String(await freePort()),
      LEDGER_TCP_PORT: String(tcpPort),
      LEDGER_HTTP_PORT: String(await freePort()),
    };
    ledger = await spawnLedger(env, tcpPort);
  });
  afterAll(async () => {
    await ledger?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });

  it('given the ledger started on its embedded PostgreSQL, when the CLI logs an execution, then it is acknowledged and `ledger read` shows it with its hash', async () => {
    const logged = await cli(
      'log-execution',
      '--approval',
      'A1',
      '--worker',
      'w1',
      '--command',
      'docker compose ps',
      '--exit-code',
      '0',
      '--output',
      'api running',
      '--json',
    );
    const ack = JSON.parse(logged.stdout) as { hash?: string; ack?: { hash: string } };
    const hash = ack.hash ?? ack.ack?.hash;
    expect(hash).toMatch(/^[0-9a-f]{64}$/);

    const read = await cli('read', 'approval-A1', '--json');
    const stream = JSON.parse(read.stdout) as { events: { type: string; hash: string; data: { command: string } }[] };
    expect(stream.events).toHaveLength(1);
    expect(stream.events[0]).toMatchObject({ type: 'ExecutionLogged', hash, data: { command: 'docker compose ps' } });

    const pretty = await cli('read', 'approval-A1');
    expect(pretty.stdout).toContain('ExecutionLogged');
    expect(pretty.stdout).toContain(hash!.slice(0, 12));
  });
});
