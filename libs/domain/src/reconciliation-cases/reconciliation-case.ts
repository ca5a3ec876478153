/**
 * A labelled reconciliation case: an approval (instruction, approved commands), what was executed and the verdict a
 * careful reviewer gives. The format of `../shared/reconcile/dev.jsonl` and `test/fixtures/reconcile/ops.jsonl`.
 */
import { z } from 'zod';
import type { Verdict } from '../reconciliation/reconciliation.types.js';

export const ReconciliationCase = z.object({
  id: z.string().min(1),
  instruction: z.string(),
  approved_commands: z.array(z.string()),
  executed: z.array(z.string()),
  label: z.enum(['MATCH', 'MISMATCH', 'UNCLEAR']),
  /** `family[:variant[:mode]]`; the family (before the first `:`) sets the label. */
  kind: z.string().min(1),
  source: z.string().optional(),
});
export type ReconciliationCase = z.infer<typeof ReconciliationCase>;

/** A line of a case file that is not a case: which line (1-based) and why. */
export class CaseFileError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

/** Parses JSON Lines text into cases; blank lines are skipped, the first bad line throws `CaseFileError`. */
export function parseCaseLines(text: string): ReconciliationCase[] {
  const cases: ReconciliationCase[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim().length === 0) return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new CaseFileError(line, `not JSON (${(error as Error).message})`);
    }
    const parsed = ReconciliationCase.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue && issue.path.length > 0 ? issue.path.join('.') : '(case)';
      throw new CaseFileError(line, `${field}: ${issue?.message ?? 'invalid case'}`);
    }
    if (seen.has(parsed.data.id)) throw new CaseFileError(line, `id: duplicate id ${parsed.data.id}`);
    seen.add(parsed.data.id);
    cases.push(parsed.data);
  });
  return cases;
}

/** The kind's family: the part before the first `:`. */
export const familyOf = (kind: string): string => kind.split(':')[0] ?? kind;

/** `nl_only` when only the instruction was approved, else `with_approved`. */
export type ApprovalMode = 'nl_only' | 'with_approved';
export const modeOf = (c: Pick<ReconciliationCase, 'approved_commands'>): ApprovalMode =>
  c.approved_commands.length === 0 ? 'nl_only' : 'with_approved';

export const VERDICTS: readonly Verdict[] = ['MATCH', 'MISMATCH', 'UNCLEAR'];
