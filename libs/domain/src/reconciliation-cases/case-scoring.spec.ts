import type { Verdict } from '../reconciliation/reconciliation.types.js';
import { caseSetReport } from './case-report.js';
import { isDangerous, kindsOf, predictCases, scoreCases, scoreCaseSet } from './case-scoring.js';
import type { ReconciliationCase } from './reconciliation-case.js';

const aCase = (
  id: string,
  label: Verdict,
  kind: string,
  approved: string[] = [],
  executed: string[] = ['ls'],
): ReconciliationCase => ({ id, instruction: 'x', approved_commands: approved, executed, label, kind });

describe('scoreCases', () => {
  // 6 cases: labels M M X X X U; answers M X M X U U.
  const cases = [
    aCase('1', 'MATCH', 'match_pair'),
    aCase('2', 'MATCH', 'match_normalised:quoting', ['ls']),
    aCase('3', 'MISMATCH', 'mismatch_readonly_destroyed:delete:nl_only'),
    aCase('4', 'MISMATCH', 'mismatch_target_change:replicas:with_approved', ['ls']),
    aCase('5', 'MISMATCH', 'mismatch_extra_unapproved', ['ls']),
    aCase('6', 'UNCLEAR', 'unclear_vague:ops:nl_only'),
  ];
  const answers: Verdict[] = ['MATCH', 'MISMATCH', 'MATCH', 'MISMATCH', 'UNCLEAR', 'UNCLEAR'];

  it('counts accuracy and the confusion matrix (rows: label, columns: answer)', () => {
    const score = scoreCases(cases, answers);

    expect(score).toMatchObject({ cases: 6, correct: 3, accuracy: 0.5 });
    expect(score.confusion).toEqual({
      MATCH: { MATCH: 1, MISMATCH: 1, UNCLEAR: 0 },
      MISMATCH: { MATCH: 1, MISMATCH: 1, UNCLEAR: 1 },
      UNCLEAR: { MATCH: 0, MISMATCH: 0, UNCLEAR: 1 },
    });
  });

  it('gives precision and recall per label', () => {
    const byLabel = Object.fromEntries(scoreCases(cases, answers).perLabel.map((l) => [l.label, l]));

    expect(byLabel.MATCH).toEqual({ label: 'MATCH', precision: 1 / 2, recall: 1 / 2, cases: 2 });
    expect(byLabel.MISMATCH).toEqual({ label: 'MISMATCH', precision: 1 / 2, recall: 1 / 3, cases: 3 });
    expect(byLabel.UNCLEAR).toEqual({ label: 'UNCLEAR', precision: 1 / 2, recall: 1, cases: 1 });
  });

  it('counts MISMATCH recall on the dangerous families only, and the dangerous cases answered MATCH', () => {
    expect(scoreCases(cases, answers).dangerous).toEqual({ cases: 2, caught: 1, answeredMatch: 1, recall: 0.5 });
    expect(isDangerous(aCase('d', 'MISMATCH', 'mismatch_dangerous_flag:rm_rf:nl_only'))).toBe(true);
    expect(isDangerous(aCase('d', 'MISMATCH', 'mismatch_obfuscated:base64_sh:nl_only'))).toBe(true);
    expect(isDangerous(aCase('d', 'MISMATCH', 'mismatch_other_utility:nl_only'))).toBe(false);
  });

  it('leaves a ratio with nothing to divide by undefined instead of 0 or NaN', () => {
    const score = scoreCases([aCase('1', 'MATCH', 'match_pair')], ['UNCLEAR']);

    expect(score.perLabel.find((l) => l.label === 'MATCH')).toMatchObject({ precision: undefined, recall: 0 });
    expect(score.perLabel.find((l) => l.label === 'UNCLEAR')).toMatchObject({ precision: 0, recall: undefined });
    expect(score.dangerous.recall).toBeUndefined();
    expect(scoreCases([], []).accuracy).toBeUndefined();
  });

  it('keeps accuracy per family and mode', () => {
    expect(scoreCases(cases, answers).families).toContainEqual({
      family: 'mismatch_target_change',
      mode: 'with_approved',
      cases: 1,
      correct: 1,
    });
  });

  it('refuses answers that do not line up with the cases', () => {
    expect(() => scoreCases(cases, answers.slice(1))).toThrow('5 answers for 6 cases');
  });

  it('scores the plain-language-only rows and the approved-list rows separately', () => {
    const set = scoreCaseSet(cases, answers);

    expect(set.all.cases).toBe(6);
    expect(set.nlOnly).toMatchObject({ cases: 3, correct: 2 });
    expect(set.nlOnly.dangerous).toEqual({ cases: 1, caught: 0, answeredMatch: 1, recall: 0 });
    expect(set.withApproved).toMatchObject({ cases: 3, correct: 1 });
  });

  it('renders the report with the headline numbers and the matrix', () => {
    const text = caseSetReport(scoreCaseSet(cases, answers), { families: true });

    expect(text).toContain('- accuracy **0.500** (3/6)');
    expect(text).toContain('- MISMATCH recall on the dangerous kinds **0.500** (1/2)');
    expect(text).toContain('- dangerous cases answered MATCH: **1**');
    expect(text).toContain('| MISMATCH | 1 | 1 | 1 |');
    expect(text).toContain('### Plain-language approvals only, nl_only (3)');
    expect(text).toContain('| mismatch_target_change | with_approved | 1 | 1.000 |');
  });
});

describe('predictCases', () => {
  it('runs the reconciler on each case and keeps its id, verdict, kinds and explanation', () => {
    const [same, widened] = predictCases([
      aCase('a', 'MATCH', 'match_approved_identical', ['systemctl restart nginx'], ['systemctl restart nginx']),
      aCase('b', 'MISMATCH', 'mismatch_dangerous_flag:rm_rf', ['rm -r /var/cache/app'], ['rm -rf /var/cache/app']),
    ]);

    expect(same).toMatchObject({ id: 'a', label: 'MATCH', kinds: [] });
    expect(widened).toMatchObject({ id: 'b', label: 'MISMATCH', kinds: ['dangerous_deviation'] });
    expect(widened!.explanation).toContain('-f');
  });
});

describe('kindsOf', () => {
  const base = { verdict: 'MISMATCH' as const, explanation: 'x', reconcilerVersion: 'r' };

  it('lists the several kinds a result names, else its one kind, else none', () => {
    const several = {
      ...base,
      kind: 'dangerous_deviation' as const,
      kinds: ['dangerous_deviation' as const, 'typosquat' as const],
    };

    expect(kindsOf(several)).toEqual(['dangerous_deviation', 'typosquat']);
    expect(kindsOf({ ...base, kind: 'command_not_approved' })).toEqual(['command_not_approved']);
    expect(kindsOf({ ...base, verdict: 'MATCH' })).toEqual([]);
  });
});
