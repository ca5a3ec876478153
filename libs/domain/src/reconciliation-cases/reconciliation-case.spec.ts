import { CaseFileError, familyOf, modeOf, parseCaseLines } from './reconciliation-case.js';

const line = (fields: Record<string, unknown> = {}) =>
  JSON.stringify({
    id: 'c-1',
    instruction: 'Restart nginx',
    approved_commands: [],
    executed: ['systemctl restart nginx'],
    label: 'MATCH',
    kind: 'match_pair:plain:nl_only',
    source: 'ops:handwritten',
    ...fields,
  });

const failureOf = (text: string): CaseFileError => {
  try {
    parseCaseLines(text);
  } catch (error) {
    if (error instanceof CaseFileError) return error;
    throw error;
  }
  throw new Error('parsed');
};

describe('parseCaseLines', () => {
  it('given JSON Lines with blank lines, then every case is read in order', () => {
    const cases = parseCaseLines(`${line()}\n\n${line({ id: 'c-2', label: 'UNCLEAR' })}\n`);

    expect(cases.map((c) => [c.id, c.label])).toEqual([
      ['c-1', 'MATCH'],
      ['c-2', 'UNCLEAR'],
    ]);
  });

  it('given a line that is not JSON, then the error names its 1-based line', () => {
    const error = failureOf(`${line()}\n\n{"id": "c-2",\n`);

    expect(error.line).toBe(3);
    expect(error.message).toMatch(/^line 3: not JSON/);
  });

  it('given a case with an unknown label or a missing field, then the error names the line and the field', () => {
    expect(failureOf(`${line()}\n${line({ id: 'c-2', label: 'MAYBE' })}`)).toMatchObject({ line: 2 });
    expect(failureOf(`${line({ label: 'MAYBE' })}`).reason).toMatch(/^label: /);
    expect(failureOf(`${line({ executed: 'ls' })}`).reason).toMatch(/^executed: /);
  });

  it('given two cases with one id, then the second line is refused', () => {
    expect(failureOf(`${line()}\n${line()}`)).toMatchObject({ line: 2, reason: 'id: duplicate id c-1' });
  });

  it('reads the family and the approval mode of a case', () => {
    expect(familyOf('mismatch_target_change:replicas:nl_only')).toBe('mismatch_target_change');
    expect(familyOf('match_pair')).toBe('match_pair');
    expect(modeOf({ approved_commands: [] })).toBe('nl_only');
    expect(modeOf({ approved_commands: ['ls'] })).toBe('with_approved');
  });
});
