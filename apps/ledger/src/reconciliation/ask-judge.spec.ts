import type { JudgeAnswer, JudgeInput, ReconciliationJudge } from '@audit-ledger/domain';
import { boundedJudge } from './ask-judge.js';

describe('boundedJudge', () => {
  const input = { instruction: 'restart the api', executed: ['systemctl restart api'] } as unknown as JudgeInput;
  const answer = { verdict: 'MATCH', confidence: 0.9, rationale: 'same service' } as unknown as JudgeAnswer;

  /** A judge that answers only when told to; `asked()` is how many questions it holds unanswered. */
  function heldJudge(): { judge: ReconciliationJudge; asked: () => number; answerAll: () => void } {
    const waiting: (() => void)[] = [];
    return {
      judge: {
        model: 'test-model',
        promptVersion: 'test',
        judge: () => new Promise((resolve) => waiting.push(() => resolve(answer))),
      },
      asked: () => waiting.length,
      answerAll: () => waiting.splice(0).forEach((answer) => answer()),
    };
  }

  it('given more questions at once than it may ask, then the rest wait for an answer and every one is answered', async () => {
    const { judge, asked, answerAll } = heldJudge();
    const ask = boundedJudge(judge, 60_000, 4);
    const replies = Array.from({ length: 10 }, () => ask(input));
    await new Promise((resolve) => setImmediate(resolve));
    expect(asked()).toBe(4);
    while (asked() > 0) {
      answerAll();
      await new Promise((resolve) => setImmediate(resolve));
    }
    const answered = await Promise.all(replies);
    expect(answered).toHaveLength(10);
    expect(answered.every((reply) => 'verdict' in reply && reply.verdict === 'MATCH')).toBe(true);
  });

  it('given a judge that never answers, then the question fails after the limit', async () => {
    const ask = boundedJudge({ ...heldJudge().judge }, 20);
    expect(await ask(input)).toMatchObject({ error: 'no answer within 20 ms', model: 'test-model' });
  });
});
