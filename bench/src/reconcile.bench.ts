/**
 * `npm run bench:reconcile`: accuracy of the reconciler on the labelled case sets, scored as `ledger reconcile test`
 * scores them (libs/domain reconciliation-cases): the ops-agent set in the repository
 * (test/fixtures/reconcile/ops.jsonl) and the NL2Bash dev set at `<repo>/../shared/reconcile/dev.jsonl` (never copied
 * into the repository; `RECONCILE_DEV_SET` points elsewhere; skipped with the reason when absent). For each: accuracy,
 * per-label precision/recall, dangerous-kind MISMATCH recall, the confusion matrix, the same for the plain-language
 * rows (`nl_only`), per-family accuracy; then cases per second and the decider's time for 100 approvals × 10
 * executions (reconcile-throughput.ts). Writes its section of docs/benchmarks.md. `--verbose` lists the misses.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  caseSetReport,
  f3,
  parseCaseLines,
  predictCases,
  RECONCILER_VERSION,
  scoreCaseSet,
  type CaseSetScore,
  type ReconciliationCase,
} from '@audit-ledger/domain';
import { writeReportSection } from './report-section.js';
import { runReconcileThroughput, throughputLine } from './reconcile-throughput.js';

const DEV =
  process.env.RECONCILE_DEV_SET ?? fileURLToPath(new URL('../../../shared/reconcile/dev.jsonl', import.meta.url));
const OPS = fileURLToPath(new URL('../../test/fixtures/reconcile/ops.jsonl', import.meta.url));

interface SetResult {
  name: string;
  file: string;
  cases: number;
  score: CaseSetScore;
  seconds: number;
}

function runSet(name: string, file: string, verbose: boolean): SetResult {
  const cases: ReconciliationCase[] = parseCaseLines(readFileSync(file, 'utf8'));
  const started = performance.now();
  const predictions = predictCases(cases);
  const seconds = (performance.now() - started) / 1000;
  if (verbose) {
    cases.forEach((c, i) => {
      const p = predictions[i]!;
      if (p.label !== c.label) {
        console.log(
          `${c.id} ${c.kind} expected ${c.label} got ${p.label}: ${p.explanation}\n  I: ${c.instruction}\n` +
            `  A: ${JSON.stringify(c.approved_commands)}\n  E: ${JSON.stringify(c.executed)}`,
        );
      }
    });
  }
  const score = scoreCaseSet(
    cases,
    predictions.map((p) => p.label),
  );
  return { name, file, cases: cases.length, score, seconds };
}

const summaryRow = (r: SetResult, part: 'all' | 'nlOnly'): string => {
  const s = r.score[part];
  const d = s.dangerous;
  return `| ${r.name}${part === 'nlOnly' ? ' (nl_only)' : ''} | ${s.cases} | ${f3(s.accuracy)} | ${f3(d.recall)} (${d.caught}/${d.cases}) | ${d.answeredMatch} |`;
};

function main(): void {
  const verbose = process.argv.includes('--verbose');
  const throughput = throughputLine(runReconcileThroughput()); // cold: no warm-up run, as a one-off re-check would be
  const results: SetResult[] = [runSet('ops (test/fixtures/reconcile/ops.jsonl)', OPS, verbose)];
  const devSkipped = existsSync(DEV)
    ? undefined
    : `dev set skipped: ${DEV} is absent (it lives outside the repository in ../shared/; set RECONCILE_DEV_SET to read it elsewhere)`;
  if (!devSkipped) results.push(runSet('dev (../shared/reconcile/dev.jsonl)', DEV, verbose));
  const cases = results.reduce((n, r) => n + r.cases, 0);
  const seconds = results.reduce((n, r) => n + r.seconds, 0);
  const summary = [
    `Reconciler \`${RECONCILER_VERSION}\`, ${new Date().toISOString()}. Targets: accuracy ≥ 0.95, MISMATCH recall on ` +
      'the dangerous kinds ≥ 0.99, no dangerous case answered MATCH. The same scoring as `ledger reconcile test`.',
    '',
    '| case set | cases | accuracy | dangerous MISMATCH recall | dangerous answered MATCH |',
    '|---|---:|---:|---:|---:|',
    ...results.flatMap((r) => [summaryRow(r, 'all'), summaryRow(r, 'nlOnly')]),
    '',
    ...(devSkipped ? [`${devSkipped}.`, ''] : []),
    `- ${Math.round(cases / seconds)} cases/s (${(seconds * 1000).toFixed(0)} ms for ${cases} cases, one thread)`,
    throughput,
    '',
    ...results.flatMap((r) => [
      `### ${r.name}`,
      '',
      caseSetReport(r.score, { families: true }).replace(/^### /gm, '#### '),
      '',
    ]),
  ].join('\n');
  console.log(summary);
  writeReportSection(
    'reconcile',
    `## Reconciliation accuracy\n\nWritten by \`npm run bench:reconcile\`.\n\n${summary}`,
  );
  console.log(`\nwrote the reconciliation section of docs/benchmarks.md`);
}

main();
