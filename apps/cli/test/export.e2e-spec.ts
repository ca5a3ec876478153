import type { CommandAck } from '@audit-ledger/domain';
import { parse } from 'csv-parse/sync';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { anApproval, anExecution } from '../../../test/support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../../../test/support/ledger-app.js';
import { runLedgerBin } from './support/run-bin.js';

interface Integrity {
  lastCheckpoint: { toPosition: string } | null;
}
interface Bundle {
  manifest: { eventCount: number };
  events: { type: string; hash: string; globalPosition: string }[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Commands that break naive CSV writers: commas, quotes, CR/LF, leading spaces, non-ASCII. */
const AWKWARD_COMMANDS = [
  'echo "a, b" > /tmp/x',
  "printf 'line one\nline two\r\nline three'",
  '  grep -c "quoted ""twice""" notes.txt',
  'echo héllo wörld ✓ 日本語',
];

describe('`ledger export` (the built bin) against a running ledger', () => {
  let t: LedgerUnderTest;
  let dir: string;
  const approval = anApproval({ riskLevel: 'destructive', approvedCommands: AWKWARD_COMMANDS });
  const worker = `w-${approval.approvalId.slice(2, 10)}`;
  let lastPosition = '0';

  const ledger = (...args: string[]) =>
    runLedgerBin([...args, '--http-port', String(t.ledger.httpPort)], { cwd: dir, env: { LEDGER_DATA_DIR: dir } });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-export-'));
    t = await startLedgerUnderTest({ dataDir: dir, checkpointEveryMs: 50 });
    expect((await t.http('POST', '/v1/approvals', approval)).status).toBe(201);
    for (const [i, command] of AWKWARD_COMMANDS.entries()) {
      const execution = anExecution({
        approvalId: approval.approvalId,
        workerId: worker,
        command,
        exitCode: i === 1 ? 2 : 0,
        startedAt: `2026-11-23T10:00:0${i}.000Z`,
        finishedAt: `2026-11-23T10:00:0${i}.500Z`,
      });
      const { status, body } = await t.http('POST', '/v1/executions', execution);
      expect(status).toBe(201);
      lastPosition = (body as CommandAck).globalPosition;
    }
    // The evidence export below verifies offline only what a checkpoint seals: wait for the sealer.
    for (let i = 0; i < 100; i++) {
      const checkpoint = ((await t.http('GET', '/v1/integrity')).body as Integrity).lastCheckpoint;
      if (checkpoint && BigInt(checkpoint.toPosition) >= BigInt(lastPosition)) break;
      await sleep(100);
    }
  });

  afterAll(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('given logged executions, when exported as CSV to a file, then a standard parser reads back every field', async () => {
    const out = join(dir, 'executions.csv');
    const run = await ledger(
      ...['export', '--format', 'csv', '--filter', `workerId=${worker}`, '--filter', 'order=asc'],
      ...['--filter', `minPosition=${lastPosition}`, '--out', out],
    );

    expect(run).toMatchObject({ code: 0, stdout: '' });
    expect(run.stderr).toMatch(/^wrote .*executions\.csv \(csv\) as of position \d+/);
    expect(readdirSync(dir).filter((name) => name.endsWith('.partial'))).toEqual([]);
    const rows = parse(readFileSync(out), { columns: true, bom: false, relax_quotes: false }) as Record<
      string,
      string
    >[];
    expect(rows.map((row) => row.command)).toEqual(AWKWARD_COMMANDS);
    expect(rows.map((row) => [row.workerId, row.approvalId, row.riskLevel, row.exitCode])).toEqual(
      AWKWARD_COMMANDS.map((_, i) => [worker, approval.approvalId, 'destructive', i === 1 ? '2' : '0']),
    );
  });

  it('streams JSON lines to stdout; `export executions` is the same command', async () => {
    const [plain, named] = await Promise.all([
      ledger('export', '--format', 'jsonl', '--filter', `workerId=${worker}`, '--filter', 'order=asc'),
      ledger('export', 'executions', '--format', 'jsonl', '--filter', `workerId=${worker}`),
    ]);

    expect(plain).toMatchObject({ code: 0, stderr: '' });
    const lines = plain.stdout.trimEnd().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { command: string }).command)).toEqual(AWKWARD_COMMANDS);
    expect(named.code).toBe(0);
    expect(named.stdout.trimEnd().split('\n')).toHaveLength(AWKWARD_COMMANDS.length);
  });

  it('given a filter the server refuses, then it exits 2 naming the field, its flag and the reason, and writes nothing', async () => {
    const out = join(dir, 'refused.json');
    const [badValue, badName] = await Promise.all([
      ledger('export', '--format', 'json', '--filter', 'riskLevel=catastrophic', '--out', out),
      ledger('export', '--format', 'json', '--filter', 'colour=red'),
    ]);

    expect(badValue.code).toBe(2);
    expect(badValue.stderr).toContain('riskLevel (--filter riskLevel=…): Invalid option');
    expect(badValue.stderr).toContain('"destructive"');
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('colour (--filter colour=…): unknown query parameter');
    expect(badName.stdout).toBe('');
  });

  it('refuses a bad --format or --filter locally with exit 2', async () => {
    const [format, filter, noFormat] = await Promise.all([
      ledger('export', '--format', 'xml'),
      ledger('export', '--format', 'csv', '--filter', 'riskLevel'),
      ledger('export', '--filter', 'workerId=w1'),
    ]);

    expect(format.code).toBe(2);
    expect(format.stderr).toContain('Allowed choices are csv, json, jsonl');
    expect(filter.code).toBe(2);
    expect(filter.stderr).toContain('is not key=value');
    expect(noFormat.code).toBe(2);
    expect(noFormat.stderr).toContain('--format');
  });

  it('given an answer cut off midway, then it exits 1 and leaves no file', async () => {
    // A server that starts a CSV answer and drops the connection, as the ledger does when an export fails midway.
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/csv; charset=utf-8' });
      response.write('executionId,command\r\nE-1,ls\r\n', () => response.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const out = join(dir, 'cut.csv');
    try {
      const run = await runLedgerBin(
        ['export', '--format', 'csv', '--out', out, '--http-port', String((server.address() as AddressInfo).port)],
        { cwd: dir },
      );
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('the export was cut off before its end');
      expect(existsSync(out)).toBe(false);
      expect(existsSync(`${out}.partial`)).toBe(false);
    } finally {
      server.close();
    }
  });

  it('`export approval <id>` writes the raw events with hashes, verifiable offline, as `export evidence --approval` does', async () => {
    const out = join(dir, 'approval.json');
    const [exported, viaEvidence] = await Promise.all([
      ledger('export', 'approval', approval.approvalId, '--out', out),
      ledger('export', 'evidence', '--approval', approval.approvalId),
    ]);

    expect(exported.code).toBe(0);
    expect(exported.stderr).toMatch(/^wrote .*approval\.json: 5 events, 5 sealed/);
    const bundle = JSON.parse(readFileSync(out, 'utf8')) as Bundle;
    expect(bundle.events.map((event) => event.type)).toEqual([
      'ApprovalGranted',
      ...AWKWARD_COMMANDS.map(() => 'ExecutionLogged'),
    ]);
    expect(bundle.events.every((event) => /^[0-9a-f]{64}$/.test(event.hash))).toBe(true);
    expect(viaEvidence.code).toBe(0);
    expect((JSON.parse(viaEvidence.stdout) as Bundle).events).toEqual(bundle.events);

    const verified = await runLedgerBin(['verify-bundle', out], { cwd: dir, env: { PATH: process.env.PATH ?? '' } });
    expect(verified).toMatchObject({ code: 0, stdout: expect.stringMatching(/^OK: approval-/) });

    const missing = await ledger('export', 'approval', 'no-such-approval');
    expect(missing).toMatchObject({ code: 4, stderr: expect.stringContaining('not found') });
  });
});
