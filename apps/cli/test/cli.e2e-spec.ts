import type { CommandAck } from '@audit-ledger/domain';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../ledger/src/shared/free-port.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../../../test/support/ledger-app.js';
import { reachable } from '../../../test/support/reachable.js';
import { createTestDatabase } from '../../../test/support/test-database.js';
import { collect, runLedgerBin, spawnLedgerBin, type CliRun } from './support/run-bin.js';

interface StreamJson {
  streamId: string;
  events: { type: string; hash: string; data: Record<string, unknown> }[];
}

describe('the ledger CLI (the built bin, as a child process) against a running ledger', () => {
  let t: LedgerUnderTest;
  let workDir: string;
  const ledgerFlags = () => ['--port', String(t.ledger.tcpPort), '--http-port', String(t.ledger.httpPort)];
  // No key given: the CLI finds the key its command needs where the ledger's first start wrote them.
  const cli = () => ({ cwd: workDir, env: { LEDGER_DATA_DIR: t.ledger.config.dataDir } });
  const ledger = (...args: string[]) =>
    runLedgerBin([...args, ...ledgerFlags(), '--spool-dir', join(workDir, 'spool')], cli());

  beforeAll(async () => {
    t = await startLedgerUnderTest();
    workDir = mkdtempSync(join(tmpdir(), 'ledger-cli-'));
  });
  afterAll(async () => {
    await t.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('given a running ledger, when an execution is logged, then it is acknowledged and `read approval-A1` shows it with its hash', async () => {
    const logged = await ledger(
      'log-execution',
      ...['--approval', 'A1', '--worker', 'w1', '--command', 'docker compose ps', '--exit-code', '0'],
      ...['--output', 'api running', '--json'],
    );
    expect(logged).toMatchObject({ code: 0, stderr: '' });
    const result = JSON.parse(logged.stdout) as { status: string; ack: CommandAck };
    expect(result).toMatchObject({ status: 'acknowledged', ack: { streamId: 'approval-A1', streamRevision: 0 } });

    const read = await ledger('read', 'approval-A1');
    expect(read.code).toBe(0);
    const row = read.stdout.split('\n').find((line) => line.includes('ExecutionLogged'));
    expect(row).toContain(result.ack.hash.slice(0, 12));
    expect(row).toContain('workerId=w1');
    expect(row).toContain('command="docker compose ps"');

    const json = JSON.parse((await ledger('read', 'approval-A1', '--json')).stdout) as StreamJson;
    expect(json.events).toEqual([
      expect.objectContaining({ type: 'ExecutionLogged', hash: result.ack.hash, data: expect.any(Object) }),
    ]);
  });

  it('given input that misses a field, when logged, then it exits 2 naming the field and its flag, and nothing is recorded', async () => {
    const run = await ledger('log-execution', '--approval', 'A2', '--command', 'ls', '--exit-code', 'zero');

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('workerId (--worker)');
    expect(run.stderr).toContain('exitCode (--exit-code)');
    expect(run.stdout).toBe('');
    expect(await ledger('read', 'approval-A2')).toMatchObject({
      code: 4,
      stderr: expect.stringContaining('not found'),
    });
  });

  it('given an output file holding a NUL, when logged, then it exits 2 naming the field and its flag, and nothing is spooled or recorded', async () => {
    const file = join(workDir, 'binary-output.bin');
    writeFileSync(file, Buffer.from('api\u0000running', 'utf8'));
    const run = await ledger(
      'log-execution',
      ...['--approval', 'A-nul', '--worker', 'w1', '--command', 'cat x', '--exit-code', '0', '--output-file', file],
    );

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/output \(--output.*NUL/);
    expect(await ledger('read', 'approval-A-nul')).toMatchObject({ code: 4 });
  });

  it('given a granted approval, when it is rejected, then the ledger refuses and the CLI exits 3 with the code; a bad risk level exits 2', async () => {
    const granted = await ledger(
      'grant',
      ...['--approval', 'A3', '--instruction', 'restart the api', '--command', 'docker compose restart api'],
      ...['--risk', 'moderate', '--approved-by', 'alice', '--requested-by-worker', 'w1'],
    );
    expect(granted).toMatchObject({ code: 0, stdout: expect.stringContaining('acknowledged: approval-A3 revision 0') });

    const rejected = await ledger('reject', '--approval', 'A3', '--by', 'bob', '--reason', 'too late');
    expect(rejected.code).toBe(3);
    expect(rejected.stderr).toMatch(/APPROVAL\.[A-Z_]+/);

    const badRisk = await ledger(
      'grant',
      ...['--approval', 'A4', '--instruction', 'x', '--risk', 'yolo', '--approved-by', 'alice'],
    );
    expect(badRisk.code).toBe(2);
    expect(badRisk.stderr).toContain('riskLevel (--risk)');
  });

  it('given --max-frame-bytes (LEDGER_TCP_MAX_FRAME_BYTES) and an unreachable ledger, when an execution too big for a frame is logged, then it exits 2 naming the sizes and nothing is spooled', async () => {
    const spoolDir = join(workDir, 'frame-spool');
    const run = await runLedgerBin(
      ['log-execution', '--approval', 'A-big', '--worker', 'w1', '--command', 'cat x', '--exit-code', '0'].concat([
        '--output',
        'x'.repeat(3000),
        '--port',
        String(await freePort()),
        '--spool-dir',
        spoolDir,
      ]),
      { cwd: workDir, env: { ...cli().env, LEDGER_TCP_MAX_FRAME_BYTES: '2000' } },
    );

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/bytes as a TCP frame, over the ledger's maximum frame size of 2000 bytes/);
    expect(existsSync(join(spoolDir, 'spool.jsonl')) ? readFileSync(join(spoolDir, 'spool.jsonl'), 'utf8') : '').toBe(
      '',
    );
  });

  it('given an unreachable ledger, when an execution is logged, then it is spooled (exit 0, warning); `spool drain` later sends it', async () => {
    const spoolDir = join(workDir, 'outage-spool');
    const nowhere = String(await freePort());
    const spooled = await runLedgerBin(
      ['log-execution', '--approval', 'A5', '--worker', 'w1', '--command', 'uptime', '--exit-code', '0'].concat([
        '--port',
        nowhere,
        '--spool-dir',
        spoolDir,
      ]),
      cli(),
    );
    expect(spooled.code).toBe(0);
    expect(spooled.stdout).toContain('spooled as entry #1');
    expect(spooled.stderr).toContain('warning: ledger unavailable: command spooled');

    const drained = await runLedgerBin(['spool', 'drain', '--dir', spoolDir, ...ledgerFlags()], cli());
    expect(drained.code).toBe(0);
    expect(drained.stdout).toContain('sent #1 executions.log -> approval-A5 revision 0');
    expect(drained.stdout).toContain('sent 1, rejected 0, remaining 0');
    const json = JSON.parse((await ledger('read', 'approval-A5', '--json')).stdout) as StreamJson;
    expect(json.events.map((event) => event.data.command)).toEqual(['uptime']);
  });

  it('given a spooled execution reusing a recorded execution id for another command, when drained, then it is kept in conflicts.jsonl, printed, and the drain exits 6', async () => {
    const spoolDir = join(workDir, 'conflict-spool');
    const at = ['--started-at', '2026-11-23T10:00:00Z', '--finished-at', '2026-11-23T10:00:01Z'];
    const run = ['--approval', 'A6', '--worker', 'w1', '--execution-id', 'E-reused', '--exit-code', '0', ...at];
    expect((await ledger('log-execution', ...run, '--command', 'uptime')).code).toBe(0);
    const nowhere = ['--port', String(await freePort()), '--spool-dir', spoolDir];
    const spooled = await runLedgerBin(['log-execution', ...run, '--command', 'rm -rf /', ...nowhere], cli());
    expect(spooled.stdout).toContain('spooled as entry #1');

    const drained = await runLedgerBin(['spool', 'drain', '--dir', spoolDir, ...ledgerFlags()], cli());
    expect(drained.code).toBe(6);
    expect(drained.stdout).toContain('CONFLICT #1 executions.log');
    expect(drained.stdout).toContain('sent 0, rejected 0, remaining 0, conflicts 1 (kept in conflicts.jsonl)');
    expect(drained.stderr).toContain('conflicts.jsonl');
    const kept = JSON.parse(readFileSync(join(spoolDir, 'conflicts.jsonl'), 'utf8')) as Record<string, unknown>;
    expect(kept).toMatchObject({
      entry: { payload: { executionId: 'E-reused', command: 'rm -rf /' } },
      error: { code: 'EVENT_STORE.IDEMPOTENCY_CONFLICT', details: { differences: ['command'] } },
    });
    const json = JSON.parse((await ledger('read', 'approval-A6', '--json')).stdout) as StreamJson;
    expect(json.events.map((event) => event.data.command)).toEqual(['uptime']);
  });
});

describe('`ledger start`', () => {
  it('given LEDGER_* variables, when started, then it serves commands, and on SIGTERM it closes and exits 0', async () => {
    const database = await createTestDatabase('ledger_cli_start');
    const dataDir = mkdtempSync(join(tmpdir(), 'ledger-cli-start-'));
    const [tcpPort, httpPort] = [await freePort(), await freePort()];
    try {
      const service = spawnLedgerBin(['start'], {
        cwd: dataDir,
        env: {
          DATABASE_URL: database.url,
          LEDGER_DATA_DIR: dataDir,
          LEDGER_TCP_PORT: String(tcpPort),
          LEDGER_HTTP_PORT: String(httpPort),
          LEDGER_TOKEN_HMAC_SECRET: 'test-secret-0123456789abcdef',
          LEDGER_LOG_LEVEL: 'warn',
        },
      });
      const exited = collect(service);
      await until(
        () => reachable('127.0.0.1', tcpPort, 200),
        () => exited,
      );

      const logged = await runLedgerBin(
        ['log-execution', '--session', 'S1', '--worker', 'w1', '--command', 'ls', '--exit-code', '0'].concat([
          '--port',
          String(tcpPort),
          '--spool-dir',
          join(dataDir, 'spool'),
        ]),
        // No key given: the CLI finds the gateway key the ledger wrote into its data directory on its first start.
        { cwd: dataDir, env: { LEDGER_API_KEY: '', LEDGER_DATA_DIR: dataDir } },
      );
      expect(logged).toMatchObject({ code: 0, stdout: expect.stringContaining('acknowledged: session-S1') });

      service.kill('SIGTERM');
      expect(await exited).toMatchObject({ code: 0, stderr: expect.stringContaining('ledger: SIGTERM, closed') });
    } finally {
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

/** Polls until `ready` holds; fails at once, with the child's output, if the child exits first. */
async function until(ready: () => Promise<boolean>, exited: () => Promise<CliRun>, timeoutMs = 30_000) {
  let early: CliRun | undefined;
  void exited().then((run) => (early = run));
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (early) throw new Error(`ledger start exited early: ${JSON.stringify(early)}`);
    if (Date.now() > deadline) throw new Error('ledger start did not listen in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
