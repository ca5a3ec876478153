import type { CommandAck } from '@audit-ledger/domain';
import { jsonFidelityIssues } from '@audit-ledger/integrity';
import { IDEMPOTENCY_CONFLICT, type FieldIssue, type IdempotencyConflictDetails } from '../errors.js';
import type { ClientLogger } from '../logging/client-logger.js';
import { withOccurredAt } from '../ledger-commands.js';
import { frameSizeIssue } from '../transport/frame-size.js';
import type { LedgerTransport } from '../transport/ledger-transport.js';
import type { Spool } from './spool.js';

export interface DrainReport {
  /** Entries the ledger acknowledged in this pass. */
  sent: number;
  /** Entries the ledger refused for good, moved to `rejected.jsonl`. */
  rejected: number;
  /**
   * Entries whose idempotency key the ledger had already recorded with different content, moved to
   * `conflicts.jsonl`: nothing of them is in the ledger, and someone has to look.
   */
  conflicts: number;
  /** Entries still waiting (the ledger became unavailable, or the client is closing). */
  remaining: number;
}

export type DrainedEntry =
  | { seq: number; pattern: string; outcome: 'sent'; ack: CommandAck }
  | {
      seq: number;
      pattern: string;
      outcome: 'rejected';
      error: { code: string; message: string; issues?: FieldIssue[] };
    }
  | {
      seq: number;
      pattern: string;
      outcome: 'conflict';
      error: { code: string; message: string; details?: IdempotencyConflictDetails };
    };

export interface DrainOptions {
  /** Checked before each send: a closing client stops between entries. */
  shouldStop?: () => boolean;
  onEntry?: (entry: DrainedEntry) => void;
  /** An entry whose TCP frame would be larger is set aside (`rejected.jsonl`), never sent. */
  maxFrameBytes?: number;
  /** The credential the transport adds to each frame (counted in its size). */
  credential?: string;
}

/**
 * Sends spooled entries oldest first, one at a time, recording progress after each acknowledgement. Stops at the
 * first "try later"; compacts the spool when it is empty. At-least-once: an interrupted pass resends at most the
 * entry it was on, and the ledger's idempotency keys turn that into exactly once in the store.
 */
export async function drainSpool(
  spool: Spool,
  transport: LedgerTransport,
  logger: ClientLogger,
  { shouldStop = () => false, onEntry, maxFrameBytes, credential }: DrainOptions = {},
): Promise<DrainReport> {
  let sent = 0;
  let rejected = 0;
  let conflicts = 0;
  while (!shouldStop()) {
    const record = await spool.next();
    if (!record) {
      if (await spool.compactIfDrained()) break;
      continue;
    }
    if (!record.entry) {
      const error = { code: 'CLIENT.SPOOL_LINE_UNREADABLE', message: 'not a spool entry' };
      logger.error({ spoolDir: spool.dir, line: record.line }, 'unreadable spool line moved to rejected.jsonl');
      await spool.markRejected(record, error);
      rejected += 1;
      continue;
    }
    const { seq, pattern, spooledAt } = record.entry;
    // Spooled by a client that did not stamp occurredAt yet: it was submitted when it was spooled.
    const payload = withOccurredAt(record.entry.payload, spooledAt);
    // An entry written by an older client (or by hand) that no ledger can store: reported and set aside, never
    // sent again and again.
    const setAside = unsendable(pattern, payload, maxFrameBytes, credential);
    if (setAside) {
      const { error, log } = setAside;
      logger.error({ spoolDir: spool.dir, seq, pattern, ...error }, log);
      await spool.markRejected(record, error);
      rejected += 1;
      onEntry?.({ seq, pattern, outcome: 'rejected', error });
      continue;
    }
    const outcome = await transport.send(pattern, payload);
    if (outcome.kind === 'unavailable') {
      logger.warn({ spoolDir: spool.dir, seq, reason: outcome.reason, remaining: spool.pending }, 'spool drain paused');
      break;
    }
    if (outcome.kind === 'acknowledged') {
      await spool.markAcked(record);
      sent += 1;
      onEntry?.({ seq, pattern, outcome: 'sent', ack: outcome.ack });
      continue;
    }
    if (outcome.code === IDEMPOTENCY_CONFLICT) {
      const error = {
        code: outcome.code,
        message: outcome.message,
        ...(outcome.details ? { details: outcome.details } : {}),
      };
      logger.error(
        { spoolDir: spool.dir, seq, pattern, ...error },
        'ledger holds this idempotency key with different content: spooled command moved to conflicts.jsonl',
      );
      await spool.markConflict({ ...record, entry: record.entry }, error);
      conflicts += 1;
      onEntry?.({ seq, pattern, outcome: 'conflict', error });
      continue;
    }
    const error = { code: outcome.code, message: outcome.message, issues: outcome.issues };
    logger.error(
      { spoolDir: spool.dir, seq, pattern, ...error },
      'ledger refused a spooled command: moved to rejected.jsonl',
    );
    await spool.markRejected(record, error);
    rejected += 1;
    onEntry?.({ seq, pattern, outcome: 'rejected', error });
  }
  if (sent + rejected + conflicts > 0) {
    logger.info({ spoolDir: spool.dir, sent, rejected, conflicts, remaining: spool.pending }, 'spool drain pass done');
  }
  return { sent, rejected, conflicts, remaining: spool.pending };
}

/** Why a spooled entry can never be sent (storage cannot hold it, or it cannot go in one frame), if it cannot. */
function unsendable(
  pattern: string,
  payload: unknown,
  maxFrameBytes: number | undefined,
  credential: string | undefined,
) {
  const unfaithful = jsonFidelityIssues(payload);
  if (unfaithful.length > 0) {
    const error = {
      code: 'CLIENT.SPOOL_ENTRY_UNSTORABLE',
      message: 'the spooled command holds input JSON storage cannot hold faithfully',
      issues: unfaithful,
    };
    return { error, log: 'unstorable spool entry moved to rejected.jsonl' };
  }
  const tooBig = maxFrameBytes === undefined ? undefined : frameSizeIssue(pattern, payload, maxFrameBytes, credential);
  if (tooBig) {
    const error = { code: 'CLIENT.SPOOL_ENTRY_TOO_LARGE', message: tooBig.message, issues: [tooBig] };
    return { error, log: 'spool entry too large for one TCP frame moved to rejected.jsonl' };
  }
  return undefined;
}
