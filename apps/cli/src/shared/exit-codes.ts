export const EXIT_CODES = {
  ok: 0,
  /** The ledger could not be reached (reads, drains), or an unexpected error. */
  failure: 1,
  /** Bad usage or a request that fails validation: the message names the field and why. */
  badInput: 2,
  /** The ledger refused the command for a business reason (e.g. the approval was already decided). */
  refused: 3,
  notFound: 4,
  /** `ledger spool drain`: spooled commands reused an idempotency key for different content (in conflicts.jsonl). */
  conflict: 6,
} as const;
