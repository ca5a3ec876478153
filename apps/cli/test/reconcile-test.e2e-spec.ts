import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runLedgerBin } from './support/run-bin.js';

/** Five cases; c-4 is labelled a dangerous MISMATCH although it ran exactly what was approved (answered MATCH). */
const CASES = fileURLToPath(new URL('./fixtures/reconcile-cases.jsonl', import.meta.url));

describe('ledger reconcile test (the built bin, as a child process; no ledger needed)', () => {
  let workDir: string;
  const ledger = (...args: string[]) => runLedgerBin(args, { cwd: workDir });

  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'ledger-reconcile-test-'));
  });
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));

  it('given a case file, when tested, then it exits 0 printing accuracy, dangerous recall, the matrix and the nl_only rows', async () => {
    const run = await ledger('reconcile', 'test', CASES);

    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('on 5 cases of');
    expect(run.stdout).toContain('- accuracy **0.800** (4/5)');
    expect(run.stdout).toContain('- MISMATCH recall on the dangerous kinds **0.500** (1/2)');
    expect(run.stdout).toContain('- dangerous cases answered MATCH: **1**');
    expect(run.stdout).toContain('| MISMATCH | 1.000 | 0.500 | 2 |');
    expect(run.stdout).toContain('| MISMATCH | 1 | 1 | 0 |');
    expect(run.stdout).toContain('### Plain-language approvals only, nl_only (1)');
    expect(run.stdout).toContain('- accuracy **1.000** (1/1)');
  });

  it('given --predictions, then it writes {id, label, kinds, explanation} per case', async () => {
    const out = join(workDir, 'predictions.jsonl');
    const run = await ledger('reconcile', 'test', CASES, '--predictions', out);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`wrote 5 predictions to ${out}`);
    const rows = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((r) => [r.id, r.label])).toEqual([
      ['c-1', 'MATCH'],
      ['c-2', 'MISMATCH'],
      ['c-3', 'UNCLEAR'],
      ['c-4', 'MATCH'],
      ['c-5', 'UNCLEAR'],
    ]);
    expect(Object.keys(rows[1]!)).toEqual(['id', 'label', 'kinds', 'explanation']);
    expect(rows[1]).toMatchObject({ kinds: ['dangerous_deviation'], explanation: expect.stringContaining('-f') });
  });

  it('given --json, then the scores are printed as JSON', async () => {
    const run = await ledger('reconcile', 'test', CASES, '--json');

    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as {
      all: { accuracy: number; dangerous: { answeredMatch: number } };
      nlOnly: { cases: number };
    };
    expect(report.all).toMatchObject({ accuracy: 0.8, dangerous: { answeredMatch: 1 } });
    expect(report.nlOnly.cases).toBe(1);
  });

  it('given a malformed line, then it exits 2 naming the file and the line', async () => {
    const bad = join(workDir, 'bad.jsonl');
    const lines = readFileSync(CASES, 'utf8').trim().split('\n');
    writeFileSync(bad, [lines[0], lines[1], '{"id": "c-3", "label": "MATCH"'].join('\n'));

    const run = await ledger('reconcile', 'test', bad);

    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`invalid case file ${bad}`);
    expect(run.stderr).toContain('line 3: not JSON');
  });

  it('given a missing file, then it exits 2 saying it cannot read it', async () => {
    const run = await ledger('reconcile', 'test', join(workDir, 'absent.jsonl'));

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('cannot read');
  });

  it('keeps `ledger reconcile` (the re-run) demanding --since', async () => {
    const run = await ledger('reconcile');

    expect(run.code).toBe(2);
    expect(run.stderr).toContain("required option '--since <instant|position>' not specified");
  });
});
