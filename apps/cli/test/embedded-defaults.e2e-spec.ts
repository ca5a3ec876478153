import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startLedger, type RunningLedger } from '../../ledger/src/index.js';
import { anApproval, anExecution } from '../../../test/support/fixtures.js';
import { localBearer } from '../../../test/support/test-credentials.js';
import { spawn } from 'node:child_process';
import { collect, LEDGER_BIN, runLedgerBin } from './support/run-bin.js';

/** The bin under a pseudo-terminal (util-linux `script`): stdout and stderr are a terminal, as for a person. */
const runOnTerminal = (args: string[], env: Record<string, string>) =>
  collect(
    spawn('script', ['-qec', [process.execPath, LEDGER_BIN, ...args].map((a) => `'${a}'`).join(' '), '/dev/null'], {
      cwd: tmpdir(),
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );

/**
 * Issue 16, item 6: with no URL and no flag, the CLI finds the embedded database from LEDGER_DATA_DIR: the running
 * ledger's server (its port read from the cluster), or, when the ledger is stopped, the data directory's cluster
 * started for the command alone and stopped after it.
 */
describe('database commands default to the embedded database of LEDGER_DATA_DIR', () => {
  let dataDir: string;
  let ledger: RunningLedger | undefined;
  // Only the data directory: no DATABASE_URL, no port (the ledger's embedded port is not the default one).
  const env = () => ({ LEDGER_DATA_DIR: dataDir, DATABASE_URL: '', LEDGER_EMBEDDED_PG_PORT: '' });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ledger-cli-embedded-'));
    // The ledger on its embedded PostgreSQL even where the suite runs against a server (DATABASE_URL set)
    const suiteDatabaseUrl = process.env.DATABASE_URL;
    delete process.env.DATABASE_URL;
    try {
      ledger = await startLedger({
        dataDir,
        embeddedPgPort: await freePort(),
        tcpPort: 0,
        httpPort: 0,
        logLevel: 'silent',
        reconciliationEnabled: false,
      });
    } finally {
      if (suiteDatabaseUrl !== undefined) process.env.DATABASE_URL = suiteDatabaseUrl;
    }
    const approval = anApproval();
    for (const [path, body] of [
      ['/v1/approvals', approval],
      ['/v1/executions', anExecution({ approvalId: approval.approvalId })],
    ] as const) {
      const response = await fetch(`http://127.0.0.1:${ledger.httpPort}${path}`, {
        method: 'POST',
        headers: { ...localBearer(dataDir, 'gateway'), 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(201);
    }
  });
  afterAll(async () => {
    await ledger?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('given the ledger running on its embedded PostgreSQL, when `ledger verify` runs with no flags, then it verifies that database', async () => {
    const run = await runLedgerBin(['verify'], { cwd: tmpdir(), env: env() });
    expect(run).toMatchObject({ code: 0, stdout: expect.stringMatching(/^OK: \d+ events in \d+ streams/) });
    expect(run.stderr).not.toMatch(/started its embedded PostgreSQL/);
    expect(run.stderr).not.toMatch(/verifying/); // piped: no progress bar

    const onTerminal = await runOnTerminal(['verify'], env());
    expect(onTerminal).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/verifying \[.*\] 100%[^]*OK: \d+ events/),
    });
  });

  it('given the ledger stopped, when verify and a rebuild run with no flags, then each starts the cluster for itself and stops it after', async () => {
    await ledger!.close();
    ledger = undefined;
    const postmasterPid = join(dataDir, 'pg', 'postmaster.pid');
    expect(existsSync(postmasterPid)).toBe(false);

    const verify = await runLedgerBin(['verify'], { cwd: tmpdir(), env: env() });
    expect(verify).toMatchObject({ code: 0, stdout: expect.stringMatching(/^OK: \d+ events in \d+ streams/) });
    expect(verify.stderr).toMatch(/the ledger is not running: started its embedded PostgreSQL/);
    expect(existsSync(postmasterPid)).toBe(false);

    const rebuild = await runLedgerBin(['projections', 'rebuild', 'executions', '--json'], {
      cwd: tmpdir(),
      env: env(),
    });
    expect({ code: rebuild.code, stderr: rebuild.code === 0 ? '' : rebuild.stderr }).toEqual({ code: 0, stderr: '' });
    expect(existsSync(postmasterPid)).toBe(false);
  });
});
