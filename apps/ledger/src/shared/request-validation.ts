import { LedgerError } from '@audit-ledger/domain';
import { jsonFidelityIssues } from '@audit-ledger/integrity';
import type { z } from 'zod';

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `artifacts.0.sha256`; empty for the whole message. */
  path: string;
  message: string;
}

export class RequestValidationError extends LedgerError {
  readonly code = 'VALIDATION.FAILED';
  constructor(readonly issues: FieldIssue[]) {
    super(`Invalid request: ${issues.map((issue) => `${issue.path || '(message)'}: ${issue.message}`).join('; ')}`);
  }
}

/**
 * Every external input passes here: the parsed value, or an error naming each bad field and why. Input that JSON
 * storage cannot hold faithfully (a lone surrogate or NUL in a value or a member name, an integer beyond ±(2^53−1),
 * -0) is refused first, whatever the schema would make of it: nothing derived from it is hashed or stored.
 */
export function parseRequest<S extends z.ZodType>(schema: S, payload: unknown): z.output<S> {
  const unfaithful = jsonFidelityIssues(payload);
  if (unfaithful.length > 0) throw new RequestValidationError(unfaithful);
  const result = schema.safeParse(payload);
  if (result.success) return result.data;
  throw new RequestValidationError(
    result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })),
  );
}

/** Puts a path parameter into the body; a body that names a different value is refused. */
export function withPathParam(body: unknown, name: string, value: string): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const named = (body as Record<string, unknown>)[name];
  if (named !== undefined && named !== value) {
    throw new RequestValidationError([
      { path: name, message: `the body names ${String(named)} but the path names ${value}` },
    ]);
  }
  return { ...body, [name]: value };
}
