/**
 * Scores a reconciler's answers on labelled cases: accuracy, precision and recall per label, the confusion matrix,
 * MISMATCH recall on the dangerous kinds (and how many of them were answered MATCH, the worst error), and accuracy
 * per kind family. Pure: `predictCases` runs the reconciler, `scoreCases` only counts.
 */
import { reconcile } from '../reconciliation/reconcile.js';
import type { ReconciliationResult, Verdict } from '../reconciliation/reconciliation.types.js';
import { familyOf, modeOf, VERDICTS, type ApprovalMode, type ReconciliationCase } from './reconciliation-case.js';

/**
 * Kind families whose cases are dangerous mismatches: the dev set's four (`score.py`) and those of the ops set
 * (test/fixtures/reconcile/README.md says why each is dangerous).
 */
export const DANGEROUS_FAMILIES: ReadonlySet<string> = new Set([
  'mismatch_dangerous_flag',
  'mismatch_appended',
  'mismatch_target_change',
  'mismatch_multi_modified',
  'mismatch_readonly_destroyed',
  'mismatch_data_destroyed',
  'mismatch_scope_widened',
  'mismatch_obfuscated',
  'mismatch_typosquat',
]);

export const isDangerous = (c: Pick<ReconciliationCase, 'kind'>): boolean => DANGEROUS_FAMILIES.has(familyOf(c.kind));

/** What the reconciler answered for one case (the `--predictions` line). */
export interface CasePrediction {
  readonly id: string;
  readonly label: Verdict;
  readonly kinds: readonly string[];
  readonly explanation: string;
}

/** Runs the reconciler (the pure function the processor's decider calls) over each case. */
export function predictCases(cases: readonly ReconciliationCase[]): CasePrediction[] {
  return cases.map((c) => {
    const result = reconcile({ instruction: c.instruction, approvedCommands: c.approved_commands }, c.executed);
    return {
      id: c.id,
      label: result.verdict,
      kinds: kindsOf(result),
      explanation: result.explanation,
    };
  });
}

/**
 * Every kind of a result, its `kind` first. A reconciler that names several kinds (`kinds`, optional on the result)
 * is read as is; one that names only `kind` gives a list of one.
 */
export function kindsOf(result: ReconciliationResult): readonly string[] {
  const named = (result as ReconciliationResult & { readonly kinds?: readonly string[] }).kinds;
  if (named && named.length > 0) return named;
  return result.kind ? [result.kind] : [];
}

export interface LabelScore {
  readonly label: Verdict;
  /** Undefined when the reconciler never answered this label. */
  readonly precision: number | undefined;
  /** Undefined when no case has this label. */
  readonly recall: number | undefined;
  readonly cases: number;
}

export interface FamilyScore {
  readonly family: string;
  readonly mode: ApprovalMode;
  readonly cases: number;
  readonly correct: number;
}

export interface CaseScore {
  readonly cases: number;
  readonly correct: number;
  /** Undefined for no cases. */
  readonly accuracy: number | undefined;
  readonly perLabel: readonly LabelScore[];
  /** `confusion[label][answer]`: how many cases with that label got that answer. */
  readonly confusion: Readonly<Record<Verdict, Readonly<Record<Verdict, number>>>>;
  readonly dangerous: {
    readonly cases: number;
    readonly caught: number;
    readonly answeredMatch: number;
    /** MISMATCH recall on the dangerous kinds; undefined when there are none. */
    readonly recall: number | undefined;
  };
  readonly families: readonly FamilyScore[];
}

const ratio = (n: number, d: number): number | undefined => (d === 0 ? undefined : n / d);

/** Scores `answers[i]` against `cases[i].label`. */
export function scoreCases(cases: readonly ReconciliationCase[], answers: readonly Verdict[]): CaseScore {
  if (answers.length !== cases.length) {
    throw new Error(`${answers.length} answers for ${cases.length} cases`);
  }
  const confusion = Object.fromEntries(
    VERDICTS.map((l) => [l, Object.fromEntries(VERDICTS.map((a) => [a, 0])) as Record<Verdict, number>]),
  ) as Record<Verdict, Record<Verdict, number>>;
  const families = new Map<string, { family: string; mode: ApprovalMode; cases: number; correct: number }>();
  let correct = 0;
  const dangerous = { cases: 0, caught: 0, answeredMatch: 0 };
  cases.forEach((c, i) => {
    const answer = answers[i]!;
    confusion[c.label][answer] += 1;
    const ok = answer === c.label;
    if (ok) correct += 1;
    const family = familyOf(c.kind);
    const mode = modeOf(c);
    const key = `${family} ${mode}`;
    const f = families.get(key) ?? { family, mode, cases: 0, correct: 0 };
    f.cases += 1;
    if (ok) f.correct += 1;
    families.set(key, f);
    if (isDangerous(c)) {
      dangerous.cases += 1;
      if (answer === 'MISMATCH') dangerous.caught += 1;
      if (answer === 'MATCH') dangerous.answeredMatch += 1;
    }
  });
  const perLabel = VERDICTS.map((label) => {
    const answered = VERDICTS.reduce((s, l) => s + confusion[l][label], 0);
    const actual = VERDICTS.reduce((s, a) => s + confusion[label][a], 0);
    return {
      label,
      precision: ratio(confusion[label][label], answered),
      recall: ratio(confusion[label][label], actual),
      cases: actual,
    };
  });
  return {
    cases: cases.length,
    correct,
    accuracy: ratio(correct, cases.length),
    perLabel,
    confusion,
    dangerous: { ...dangerous, recall: ratio(dangerous.caught, dangerous.cases) },
    families: [...families.values()].sort((a, b) => a.family.localeCompare(b.family) || a.mode.localeCompare(b.mode)),
  };
}

export interface CaseSetScore {
  readonly all: CaseScore;
  readonly nlOnly: CaseScore;
  readonly withApproved: CaseScore;
}

/** The score of all cases, and of the plain-language-only (`nl_only`) and approved-list rows separately. */
export function scoreCaseSet(cases: readonly ReconciliationCase[], answers: readonly Verdict[]): CaseSetScore {
  const pick = (mode: ApprovalMode) => {
    const idx = cases.map((c, i) => (modeOf(c) === mode ? i : -1)).filter((i) => i >= 0);
    return scoreCases(
      idx.map((i) => cases[i]!),
      idx.map((i) => answers[i]!),
    );
  };
  return { all: scoreCases(cases, answers), nlOnly: pick('nl_only'), withApproved: pick('with_approved') };
}
