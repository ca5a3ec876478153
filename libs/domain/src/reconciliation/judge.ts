// Port for the optional LLM judge (issue 5, part 2), the record of what it said, and the pure rules for using it.
// The adapter (an OpenAI-compatible chat-completions client) lives in apps/ledger; the ledger works fully without
// one (off by default).

export type JudgeVerdict = 'MATCH' | 'MISMATCH' | 'UNCLEAR';

export interface JudgeInput {
  /** The approval's natural-language instruction (the judge is asked only when no commands were approved). */
  instruction: string;
  /** The command lines that ran, as logged. */
  executed: string[];
  /** What the deterministic reconciler answered: the judge is consulted only when this is `UNCLEAR`. */
  candidateVerdict: JudgeVerdict;
}

/** The judge answered in the strict schema. */
export interface JudgeAnswer {
  verdict: JudgeVerdict;
  /** The model's reason, recorded in the verdict event next to `model` and `promptVersion`. */
  rationale: string;
  /** The model that answered (as the API names it; may be more precise than the configured one). */
  model: string;
  promptVersion: string;
  /** sha256 (hex) of the exact messages sent; recorded on the verdict. */
  promptHash?: string;
}

/** No usable answer: timeout, transport or HTTP error, a reply that is not the strict JSON schema. */
export interface JudgeFailure {
  error: string;
  /** The configured model. */
  model: string;
  promptVersion: string;
  promptHash?: string;
}

export interface ReconciliationJudge {
  /** The configured model and the prompt version, recorded with every judged verdict. */
  readonly model: string;
  readonly promptVersion: string;
  /** Never throws: every failure is a `JudgeFailure` (the caller keeps `UNCLEAR` and records the error). */
  judge(input: JudgeInput): Promise<JudgeAnswer | JudgeFailure>;
}

/** What the processor hands the decider: the judge's answer or failure, and how long it took. */
export type JudgeOutcome = (JudgeAnswer | JudgeFailure) & { latencyMs: number };

export const isJudgeAnswer = (outcome: JudgeAnswer | JudgeFailure): outcome is JudgeAnswer => 'verdict' in outcome;

/** When the judge may be asked: a natural-language-only approval whose deterministic verdict is UNCLEAR. */
export function judgeApplies(approval: { approvedCommands: readonly string[] }, candidate: JudgeVerdict): boolean {
  return approval.approvedCommands.length === 0 && candidate === 'UNCLEAR';
}

/**
 * The verdict to record given the deterministic one and the judge's outcome. The judge can only resolve an
 * UNCLEAR: a deterministic MATCH or MISMATCH (every risk-rule mismatch among them) is never changed, a failure keeps
 * UNCLEAR, and a MATCH is refused when a risk rule fired on the command (`riskRules` non-empty) — a dangerous command
 * stays UNCLEAR at best. A MISMATCH or UNCLEAR answer is always taken (it only adds caution).
 */
export function verdictWithJudge(
  candidate: JudgeVerdict,
  outcome: JudgeAnswer | JudgeFailure | null,
  riskRules: readonly string[] = [],
): JudgeVerdict {
  if (candidate !== 'UNCLEAR' || outcome === null || !isJudgeAnswer(outcome)) return candidate;
  if (outcome.verdict === 'MATCH' && riskRules.length > 0) return 'UNCLEAR';
  return outcome.verdict;
}
