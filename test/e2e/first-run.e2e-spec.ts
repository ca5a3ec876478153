import { execFile } from 'node:child_process';
import { chmodSync, lstatSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
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
    // Reconciliation runs too (no approval A1 was granted): only the execution is this test's business.
    const executions = stream.events.filter((event) => event.type === 'ExecutionLogged');
    expect(executions).toHaveLength(1);
    expect(executions[0]).toMatchObject({ hash, data: { command: 'docker compose ps' } });

    const pretty = await cli('read', 'approval-A1');
    expect(pretty.stdout).toContain('ExecutionLogged');
    expect(pretty.stdout).toContain(hash!.slice(0, 12));

    // `ledger verify` finds the embedded database by itself (its runtime login's generated password in the data dir)
    const verified = await cli('verify', '--json');
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true });
  });
});

const asRoot = process.getuid?.() === 0;
if (!asRoot)
  process.stderr.write('[skip] private-directory first run: only root switches the server to the postgres user\n');

(asRoot ? describe : describe.skip)('first run from a checkout under a private directory (as root)', () => {
  let privateDir: string;
  let ledger: LedgerProcess | undefined;
  afterAll(async () => {
    await ledger?.stop();
    rmSync(privateDir, { recursive: true, force: true });
  });

  it('given a data directory the postgres user cannot enter, when the ledger starts, then the cluster lives in a shared place behind a link and keeps its data across restarts', async () => {
    privateDir = mkdtempSync(join(tmpdir(), 'ledger-private-')); // mode 0700, like /root or mktemp -d
    const tcpPort = await freePort();
    const env = {
      DATABASE_URL: '',
      LEDGER_DATA_DIR: join(privateDir, 'data'),
      LEDGER_EMBEDDED_PG_PORT: String(await freePort()),
      LEDGER_TCP_PORT: String(tcpPort),
      LEDGER_HTTP_PORT: String(await freePort()),
    };
    const cli = (...args: string[]) => run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    ledger = await spawnLedger(env, tcpPort);
    await cli('log-execution', '--session', 'S1', '--worker', 'w1', '--command', 'uptime', '--exit-code', '0');
    expect(lstatSync(join(privateDir, 'data', 'pg')).isSymbolicLink()).toBe(true);
    await ledger.stop();

    ledger = await spawnLedger(env, tcpPort);
    const read = await cli('read', 'session-S1', '--json');
    const events = (JSON.parse(read.stdout) as { events: { type: string }[] }).events;
    expect(events.filter((event) => event.type === 'ExecutionLogged')).toHaveLength(1);
    await ledger.stop();
    ledger = undefined;
    rmSync(realpathSync(join(privateDir, 'data', 'pg')), { recursive: true, force: true });
  });
});
