import type { JudgeFailure, JudgeInput, JudgeOutcome, ReconciliationJudge } from '@audit-ledger/domain';
import { performance } from 'node:perf_hooks';

/** Injection token of the `AskJudge` (or `null` when no judge is configured) for `reconcile --since`. */
export const RECONCILIATION_JUDGE = Symbol('RECONCILIATION_JUDGE');

/** How the reconciliation asks the judge: always answers, within the time limit, with the latency measured. */
export type AskJudge = (input: JudgeInput) => Promise<JudgeOutcome>;

/**
 * Wraps a judge so that the processor is never held longer than `limitMs` (the adapter has its own timeout; this
 * guards against any judge that ignores it) and never sees an exception: both become a `JudgeFailure`, recorded as
 * UNCLEAR with the error.
 */
export function boundedJudge(judge: ReconciliationJudge, limitMs: number): AskJudge {
  return async (input) => {
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
  };
}
