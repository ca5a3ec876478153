import type { JudgeFailure, JudgeInput, JudgeOutcome, ReconciliationJudge } from '@audit-ledger/domain';
import { performance } from 'node:perf_hooks';

/** Injection token of the `AskJudge` (or `null` when no judge is configured) for `reconcile --since`. */
export const RECONCILIATION_JUDGE = Symbol('RECONCILIATION_JUDGE');

/** How the reconciliation asks the judge: always answers, within the time limit, with the latency measured. */
export type AskJudge = (input: JudgeInput) => Promise<JudgeOutcome>;

/**
 * At most this many questions to the judge at once: the processor keeps up to 1,024 executions in flight (most of them
 * verdicts waiting for a group commit), which a judge's provider should not see as 1,024 requests at once.
 */
const MAX_CONCURRENT_QUESTIONS = 64;

/**
 * Wraps a judge so that the processor is never held longer than `limitMs` once its question is asked (the adapter
 * has its own timeout; this guards against any judge that ignores it) and never sees an exception: both become a
 * `JudgeFailure`, recorded as UNCLEAR with the error. Questions beyond `maxConcurrent` wait for one to be answered.
 */
export function boundedJudge(
  judge: ReconciliationJudge,
  limitMs: number,
  maxConcurrent = MAX_CONCURRENT_QUESTIONS,
): AskJudge {
  let asking = 0;
  const queued: (() => void)[] = [];
  return async (input) => {
    if (asking >= maxConcurrent) await new Promise<void>((resolve) => queued.push(resolve));
    else asking++;
    try {
      return await ask(judge, limitMs, input);
    } finally {
      const next = queued.shift();
      if (next)
        next(); // the slot passes on
      else asking--;
    }
  };
}

async function ask(judge: ReconciliationJudge, limitMs: number, input: JudgeInput): Promise<JudgeOutcome> {
  const started = performance.now();
  const failure = (error: string): JudgeFailure => ({
    error,
    model: judge.model,
    promptVersion: judge.promptVersion,
  });
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<JudgeFailure>((resolve) => {
    timer = setTimeout(() => resolve(failure(`no answer within ${limitMs} ms`)), limitMs);
  });
  try {
    const reply = await Promise.race([
      judge.judge(input).catch((error: unknown) => failure(error instanceof Error ? error.message : String(error))),
      late,
    ]);
    return { ...reply, latencyMs: performance.now() - started };
  } finally {
    clearTimeout(timer);
  }
}
