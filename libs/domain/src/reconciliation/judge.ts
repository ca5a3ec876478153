// Port for the optional LLM judge (issue 5, part 2). Types and a pure guard only: the adapter (an OpenAI-compatible
// chat-completions client) lives in apps/ledger; the ledger works fully without one (off by default).

export type JudgeVerdict = 'MATCH' | 'MISMATCH' | 'UNCLEAR';

export interface JudgeInput {
  /** The approval's natural-language instruction (the judge is asked only when no commands were approved). */
  instruction: string;
  /** The command lines that ran, as logged. */
  executed: string[];
  /** What the deterministic reconciler answered: the judge is consulted only when this is `UNCLEAR`. */
  candidateVerdict: JudgeVerdict;
}

export interface JudgeAnswer {
  verdict: JudgeVerdict;
  /** The model's reason, recorded in the verdict event next to `model` and `promptVersion`. */
  rationale: string;
  model: string;
  promptVersion: string;
}

/** `null`: no usable answer (timeout, transport error, invalid JSON or schema) — the caller keeps `UNCLEAR`. */
export interface ReconciliationJudge {
  judge(input: JudgeInput): Promise<JudgeAnswer | null>;
}

/** When the judge may be asked: a natural-language-only approval whose deterministic verdict is UNCLEAR. */
export function judgeApplies(approval: { approvedCommands: readonly string[] }, candidate: JudgeVerdict): boolean {
  return approval.approvedCommands.length === 0 && candidate === 'UNCLEAR';
}

/**
 * The verdict to record given the deterministic one and the judge's answer. The judge can only resolve an UNCLEAR:
 * a deterministic MATCH or MISMATCH (every risk-rule mismatch among them) is never changed, and a MATCH is refused
 * when a risk rule fired on the command (`riskRules` non-empty) — a dangerous command stays UNCLEAR at best.
 */
export function verdictWithJudge(
  candidate: JudgeVerdict,
  answer: JudgeAnswer | null,
  riskRules: readonly string[] = [],
): JudgeVerdict {
  if (candidate !== 'UNCLEAR' || answer === null) return candidate;
  if (answer.verdict === 'MATCH' && riskRules.length > 0) return 'UNCLEAR';
  return answer.verdict;
}
