import {
  GrantApprovalRequest,
  LogExecutionRequest,
  MESSAGE_PATTERNS,
  RejectApprovalRequest,
  RevokeApprovalRequest,
} from '@audit-ledger/domain';
import { jsonFidelityIssues } from '@audit-ledger/integrity';
import type { z } from 'zod';
import { LedgerValidationError } from './errors.js';

/** Each command a gateway sends: its message pattern and the request schema it is validated with before leaving. */
export const LEDGER_COMMANDS = {
  grantApproval: { pattern: MESSAGE_PATTERNS.grantApproval, schema: GrantApprovalRequest },
  rejectApproval: { pattern: MESSAGE_PATTERNS.rejectApproval, schema: RejectApprovalRequest },
  revokeApproval: { pattern: MESSAGE_PATTERNS.revokeApproval, schema: RevokeApprovalRequest },
  logExecution: { pattern: MESSAGE_PATTERNS.logExecution, schema: LogExecutionRequest },
} as const;

export type LedgerCommandName = keyof typeof LEDGER_COMMANDS;
export type LedgerCommandInput<N extends LedgerCommandName> = z.input<(typeof LEDGER_COMMANDS)[N]['schema']>;
export type LedgerCommandPayload<N extends LedgerCommandName> = z.output<(typeof LEDGER_COMMANDS)[N]['schema']>;
export type MessagePattern = (typeof MESSAGE_PATTERNS)[keyof typeof MESSAGE_PATTERNS];

/**
 * The payload with the time it occurred: the one the caller gave, else `at` (when the command was first submitted). A
 * command spooled during an outage keeps that time however late it is drained, so the ledger judges it by when it
 * happened, not when it arrived.
 */
export function withOccurredAt<P>(payload: P, at: string): P {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return payload;
  if ((payload as { occurredAt?: unknown }).occurredAt !== undefined) return payload;
  return { ...payload, occurredAt: at };
}

/**
 * The normalised payload (defaults applied, timestamps in UTC), or a `LedgerValidationError` naming each field.
 * Input JSON storage cannot hold faithfully (a lone surrogate or NUL, an integer beyond ±(2^53−1), -0) is refused
 * here, before it can be sent or spooled: the ledger would refuse it, and a spool must hold only what it can send.
 */
export function validateCommand<N extends LedgerCommandName>(
  name: N,
  input: LedgerCommandInput<N>,
): LedgerCommandPayload<N> {
  const unfaithful = jsonFidelityIssues(input);
  if (unfaithful.length > 0) throw new LedgerValidationError(name, unfaithful);
  const result = LEDGER_COMMANDS[name].schema.safeParse(input);
  if (result.success) {
    const afterDefaults = jsonFidelityIssues(result.data);
    if (afterDefaults.length > 0) throw new LedgerValidationError(name, afterDefaults);
    return result.data as LedgerCommandPayload<N>;
  }
  throw new LedgerValidationError(
    name,
    result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })),
  );
}
