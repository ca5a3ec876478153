import { MESSAGE_PATTERNS } from '@audit-ledger/domain';
import { z } from 'zod';
import type { FieldIssue, IdempotencyConflictDetails } from '../errors.js';

// Storage format of `spool.jsonl`, one entry per line. Written by one version of the client and possibly drained by
// the next: add optional fields only.
export const SpoolEntry = z.object({
  /** 1-based line number in the current spool; numbering restarts when a fully drained spool is compacted. */
  seq: z.number().int().positive(),
  pattern: z.enum(MESSAGE_PATTERNS),
  /** The validated request. The ledger validates it again when it arrives. */
  payload: z.unknown(),
  spooledAt: z.string(),
});
export type SpoolEntry = z.infer<typeof SpoolEntry>;

/** A line of `rejected.jsonl`: an entry the ledger refused for good (or a line that could not be read at all). */
export interface RejectedEntry {
  seq: number;
  rejectedAt: string;
  error: { code: string; message: string; issues?: FieldIssue[] };
  entry?: SpoolEntry;
  /** The raw line, when it could not be parsed. */
  line?: string;
}

/**
 * A line of `conflicts.jsonl`: an entry whose idempotency key the ledger had recorded with different content. Kept
 * for a person to decide (a gateway reusing ids, or a changed command): the ledger recorded nothing of it.
 */
export interface ConflictEntry {
  seq: number;
  conflictAt: string;
  error: { code: string; message: string; details?: IdempotencyConflictDetails };
  entry: SpoolEntry;
}
