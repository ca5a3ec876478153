import type { FieldIssue } from '@audit-ledger/client';
import { EXIT_CODES } from './exit-codes.js';

/** An expected way for a command to fail: what to print and which exit code to leave with. */
export class CliFailure extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
    readonly details: string[] = [],
  ) {
    super(message);
  }
}

/** Names each bad field by its request path and, when there is one, the flag that sets it. */
export function badInput(what: string, issues: FieldIssue[], flagsByField: Record<string, string> = {}): CliFailure {
  return new CliFailure(
    EXIT_CODES.badInput,
    `invalid ${what}`,
    issues.map((issue) => {
      const field = issue.path || '(request)';
      const flag = flagsByField[issue.path] ?? flagsByField[issue.path.split('.')[0] ?? ''];
      return `${field}${flag ? ` (${flag})` : ''}: ${issue.message}`;
    }),
  );
}
