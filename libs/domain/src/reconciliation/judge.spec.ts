import { judgeApplies, verdictWithJudge, type JudgeAnswer } from './judge.js';

const answer = (verdict: JudgeAnswer['verdict']): JudgeAnswer => ({
  verdict,
  rationale: 'r',
  model: 'm',
  promptVersion: 'judge-v1',
});

describe('the LLM judge guard', () => {
  it('is asked only for natural-language-only approvals answered UNCLEAR', () => {
    expect(judgeApplies({ approvedCommands: [] }, 'UNCLEAR')).toBe(true);
    expect(judgeApplies({ approvedCommands: ['docker compose ps'] }, 'UNCLEAR')).toBe(false);
    expect(judgeApplies({ approvedCommands: [] }, 'MISMATCH')).toBe(false);
    expect(judgeApplies({ approvedCommands: [] }, 'MATCH')).toBe(false);
  });

  it('never changes a deterministic MISMATCH or MATCH', () => {
    expect(verdictWithJudge('MISMATCH', answer('MATCH'))).toBe('MISMATCH');
    expect(verdictWithJudge('MATCH', answer('MISMATCH'))).toBe('MATCH');
  });

  it('resolves an UNCLEAR, falls back to UNCLEAR without an answer, and refuses MATCH when a risk rule fired', () => {
    expect(verdictWithJudge('UNCLEAR', answer('MATCH'))).toBe('MATCH');
    expect(verdictWithJudge('UNCLEAR', answer('MISMATCH'))).toBe('MISMATCH');
    expect(verdictWithJudge('UNCLEAR', null)).toBe('UNCLEAR');
    expect(verdictWithJudge('UNCLEAR', { error: 'HTTP 500', model: 'm', promptVersion: 'judge-v1' })).toBe('UNCLEAR');
    expect(verdictWithJudge('UNCLEAR', answer('MATCH'), ['recursive-force-delete'])).toBe('UNCLEAR');
    expect(verdictWithJudge('UNCLEAR', answer('MISMATCH'), ['recursive-force-delete'])).toBe('MISMATCH');
  });
});
