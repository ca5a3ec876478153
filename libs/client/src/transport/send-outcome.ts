import { CommandAck } from '@audit-ledger/domain';
import { z } from 'zod';
import type { FieldIssue, IdempotencyConflictDetails } from '../errors.js';
import { ReplyDeadlinePassed } from './running-time-deadline.js';

/** What one send came to. Only `refused` is final; `unavailable` means "try again later". */
export type SendOutcome =
  | { kind: 'acknowledged'; ack: CommandAck }
  | { kind: 'refused'; code: string; message: string; issues: FieldIssue[]; details?: IdempotencyConflictDetails }
  | { kind: 'unavailable'; reason: string };

/** The ledger's RPC error body (both transports). */
const RpcErrorReply = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    details: z
      .object({
        idempotencyKey: z.string().optional(),
        eventId: z.string(),
        stored: z.object({
          eventId: z.string(),
          streamId: z.string(),
          streamRevision: z.number(),
          globalPosition: z.string(),
          type: z.string(),
        }),
        differences: z.array(z.string()),
      })
      .optional()
      .catch(undefined),
  }),
});

/**
 * Refusals that a retry can never turn into an acknowledgement. Everything else (`EVENT_STORE.UNAVAILABLE`,
 * `INTERNAL`, a concurrency conflict, any transport failure) is worth retrying: ids make retries idempotent.
 */
export function isDefinitiveRefusal(code: string): boolean {
  return code.startsWith('VALIDATION.') || code.startsWith('APPROVAL.') || code === 'EVENT_STORE.IDEMPOTENCY_CONFLICT';
}

export function outcomeOfReply(reply: unknown): SendOutcome {
  const ack = CommandAck.safeParse(reply);
  if (ack.success) return { kind: 'acknowledged', ack: ack.data };
  // A reply we cannot read is not a refusal: retrying is safe, and the warning tells an operator to look.
  return { kind: 'unavailable', reason: `unreadable reply from the ledger: ${JSON.stringify(reply)?.slice(0, 200)}` };
}

export function outcomeOfFailure(error: unknown): SendOutcome {
  const reply = RpcErrorReply.safeParse(error);
  if (reply.success) {
    const { code, message, issues = [], details } = reply.data.error;
    return isDefinitiveRefusal(code)
      ? { kind: 'refused', code, message, issues, ...(details ? { details } : {}) }
      : { kind: 'unavailable', reason: `${code}: ${message}` };
  }
  if (error instanceof ReplyDeadlinePassed) return { kind: 'unavailable', reason: error.message };
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { kind: 'unavailable', reason: typeof code === 'string' ? `${code}: ${error.message}` : error.message };
  }
  return { kind: 'unavailable', reason: typeof error === 'string' ? error : JSON.stringify(error) };
}
