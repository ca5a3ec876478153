/** Renders a case score as Markdown (the CLI prints it, the benchmark writes it to docs/benchmarks.md). */
import type { CaseScore, CaseSetScore } from './case-scoring.js';
import { VERDICTS } from './reconciliation-case.js';

export const f3 = (x: number | undefined): string => (x === undefined ? 'n/a' : x.toFixed(3));

/** The headline lines of one score: accuracy, dangerous recall, dangerous cases answered MATCH. */
export function scoreHeadline(score: CaseScore): string[] {
  const d = score.dangerous;
  return [
    `- accuracy **${f3(score.accuracy)}** (${score.correct}/${score.cases})`,
    `- MISMATCH recall on the dangerous kinds **${f3(d.recall)}** (${d.caught}/${d.cases})`,
    `- dangerous cases answered MATCH: **${d.answeredMatch}**`,
  ];
}

/** Per-label precision/recall and the confusion matrix. */
export function scoreTables(score: CaseScore): string[] {
  return [
    '| label | precision | recall | cases |',
    '|---|---:|---:|---:|',
    ...score.perLabel.map((l) => `| ${l.label} | ${f3(l.precision)} | ${f3(l.recall)} | ${l.cases} |`),
    '',
    'Confusion matrix (rows: label, columns: answer):',
    '',
    '| label \\ answer | MATCH | MISMATCH | UNCLEAR |',
    '|---|---:|---:|---:|',
    ...VERDICTS.map((l) => `| ${l} | ${VERDICTS.map((a) => score.confusion[l][a]).join(' | ')} |`),
  ];
}

/** Accuracy per kind family and approval mode. */
export function familyTable(score: CaseScore): string[] {
  return [
    '| family | mode | cases | accuracy |',
    '|---|---|---:|---:|',
    ...score.families.map((f) => `| ${f.family} | ${f.mode} | ${f.cases} | ${f3(f.correct / f.cases)} |`),
  ];
}

/** All of a case set's score: everything, then the plain-language-only rows, then the approved-list rows. */
export function caseSetReport(score: CaseSetScore, options: { families?: boolean } = {}): string {
  const part = (title: string, s: CaseScore): string[] =>
    s.cases === 0
      ? [`### ${title}`, '', 'no cases', '']
      : [`### ${title}`, '', ...scoreHeadline(s), '', ...scoreTables(s), ''];
  return [
    ...part(`All cases (${score.all.cases})`, score.all),
    ...part(`Plain-language approvals only, nl_only (${score.nlOnly.cases})`, score.nlOnly),
    ...part(`With an approved list (${score.withApproved.cases})`, score.withApproved),
    ...(options.families ? ['### Per kind family', '', ...familyTable(score.all), ''] : []),
  ]
    .join('\n')
    .trimEnd();
}
