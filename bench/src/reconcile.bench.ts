/**
 * `npm run bench:reconcile`: accuracy of the reconciler on the labelled dev set at `<repo>/../shared/reconcile/dev.jsonl`
 * (never copied into the repository). Prints accuracy, per-label precision/recall, dangerous-kind MISMATCH recall,
 * the confusion matrix, per-family accuracy, cases per second and the decider's time for 100 approvals × 10
 * executions (reconcile-throughput.ts), and writes its section of docs/benchmarks.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeReportSection } from './report-section.js';
import { fileURLToPath } from 'node:url';
import { reconcile, RECONCILER_VERSION, type Verdict } from '@audit-ledger/domain';
import { runReconcileThroughput, throughputLine } from './reconcile-throughput.js';

interface Case {
  id: string;
  instruction: string;
  approved_commands: string[];
  executed: string[];
  label: Verdict;
  kind: string;
}

const DEV = fileURLToPath(new URL('../../../shared/reconcile/dev.jsonl', import.meta.url));
const LABELS: Verdict[] = ['MATCH', 'MISMATCH', 'UNCLEAR'];
const DANGEROUS = new Set([
  'mismatch_dangerous_flag',
  'mismatch_appended',
  'mismatch_target_change',
  'mismatch_multi_modified',
]);

function main(): void {
  const throughput = throughputLine(runReconcileThroughput()); // cold: no warm-up run, as a one-off re-check would be
  if (!existsSync(DEV)) {
    console.log(throughput);
    console.log(`bench:reconcile skipped: ${DEV} is absent (the dev set lives outside the repository in ../shared/).`);
    return;
  }
  const cases = readFileSync(DEV, 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as Case);
  const started = performance.now();
  const answers = cases.map((c) =>
    reconcile({ instruction: c.instruction, approvedCommands: c.approved_commands }, c.executed),
  );
  const seconds = (performance.now() - started) / 1000;
  const confusion = new Map<string, number>();
  const family = new Map<string, { n: number; ok: number }>();
  let correct = 0;
  let dangerous = 0;
  let dangerousCaught = 0;
  let dangerousMatch = 0;
  const verbose = process.argv.includes('--verbose');
  cases.forEach((c, i) => {
    const got = answers[i]?.verdict ?? 'UNCLEAR';
    confusion.set(`${c.label}>${got}`, (confusion.get(`${c.label}>${got}`) ?? 0) + 1);
    const fam = c.kind.split(':')[0] ?? c.kind;
    const mode = c.approved_commands.length === 0 ? 'nl' : 'ap';
    for (const key of [fam, `${fam} (${mode})`]) {
      const f = family.get(key) ?? { n: 0, ok: 0 };
      f.n += 1;
      if (got === c.label) f.ok += 1;
      family.set(key, f);
    }
    if (got === c.label) correct += 1;
    else if (verbose)
      console.log(
        `${c.kind} expected ${c.label} got ${got}: ${answers[i]?.explanation}\n  I: ${c.instruction}\n  A: ${JSON.stringify(c.approved_commands)}\n  E: ${JSON.stringify(c.executed)}`,
      );
    if (DANGEROUS.has(fam)) {
      dangerous += 1;
      if (got === 'MISMATCH') dangerousCaught += 1;
      if (got === 'MATCH') dangerousMatch += 1;
    }
  });
  const count = (label: string, got: string): number => confusion.get(`${label}>${got}`) ?? 0;
  const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
  const accuracy = correct / cases.length;
  const perLabel = LABELS.map((l) => {
    const tp = count(l, l);
    const predicted = LABELS.reduce((s, x) => s + count(x, l), 0);
    const actual = LABELS.reduce((s, x) => s + count(l, x), 0);
    return `| ${l} | ${f3(tp / predicted)} | ${f3(tp / actual)} | ${actual} |`;
  });
  const matrix = LABELS.map((l) => `| ${l} | ${LABELS.map((g) => count(l, g)).join(' | ')} |`);
  const families = [...family.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `| ${k} | ${v.n} | ${f3(v.ok / v.n)} |`);
  const summary = [
    `Reconciler \`${RECONCILER_VERSION}\` on ${cases.length} cases of \`../shared/reconcile/dev.jsonl\`, ${new Date().toISOString()}.`,
    '',
    `- accuracy **${f3(accuracy)}** (target ≥ 0.93)`,
    `- MISMATCH recall on the dangerous kinds **${f3(dangerousCaught / dangerous)}** (${dangerousCaught}/${dangerous}, target ≥ 0.99)`,
    `- dangerous cases answered MATCH: **${dangerousMatch}** (target 0)`,
    `- ${Math.round(cases.length / seconds)} cases/s (${(seconds * 1000).toFixed(0)} ms in all, one thread)`,
    throughput,
    '',
    '| label | precision | recall | cases |',
    '|---|---:|---:|---:|',
    ...perLabel,
    '',
    'Confusion matrix (rows: label, columns: answer):',
    '',
    '| label \\ answer | MATCH | MISMATCH | UNCLEAR |',
    '|---|---:|---:|---:|',
    ...matrix,
    '',
    '| family (mode) | cases | accuracy |',
    '|---|---:|---:|',
    ...families,
  ].join('\n');
  console.log(summary);
  writeReportSection(
    'reconcile',
    `## Reconciliation accuracy\n\nWritten by \`npm run bench:reconcile\`.\n\n${summary}`,
  );
  console.log(`\nwrote the reconciliation section of docs/benchmarks.md`);
}

main();
