import { LedgerError } from './ledger-error.js';

/**
 * When a decision was taken or a command ran (`occurredAt`, sent by the gateway) as opposed to when the ledger
 * recorded it (`recordedAt`): a command spooled during an outage arrives late but keeps its time. The ledger accepts
 * a claimed time up to a bounded clock skew ahead of its own clock; any time in the past is accepted (a spool may hold
 * commands for days).
 */
export class ClockSkewError extends LedgerError {
  readonly code = 'VALIDATION.CLOCK_SKEW';
  constructor(
    readonly field: string,
    readonly claimed: string,
    readonly receivedAt: string,
    readonly maxClockSkewMs: number,
  ) {
    super(
      `${field} ${claimed} is ${Date.parse(claimed) - Date.parse(receivedAt)} ms ahead of the ledger's clock ` +
        `(${receivedAt}); at most ${maxClockSkewMs} ms of clock skew is accepted (LEDGER_MAX_CLOCK_SKEW_MS)`,
    );
  }
}

export class RequestedAfterDecisionError extends LedgerError {
  readonly code = 'VALIDATION.FAILED';
  constructor(
    readonly requestedAt: string,
    readonly occurredAt: string,
  ) {
    super(`requestedAt ${requestedAt} is after the decision's occurredAt ${occurredAt}`);
  }
}

/** Throws a ClockSkewError when `claimed` is more than `maxClockSkewMs` ahead of `receivedAt`. */
export function assertNotAhead(field: string, claimed: string, receivedAt: string, maxClockSkewMs: number): void {
  if (Date.parse(claimed) - Date.parse(receivedAt) > maxClockSkewMs) {
    throw new ClockSkewError(field, claimed, receivedAt, maxClockSkewMs);
  }
}

/** The occurrence time to record: the command's own (checked against the skew bound), else the receive time. */
export function occurredAtToRecord(claimed: string | undefined, receivedAt: string, maxClockSkewMs: number): string {
  if (claimed === undefined) return receivedAt;
  assertNotAhead('occurredAt', claimed, receivedAt, maxClockSkewMs);
  return claimed;
}

/**
 * The timing fields of a decision as recorded: `occurredAt` (defaulted to the receive time) and, for a grant or a
 * rejection, `requestedAt` (when the gateway asked a human), which cannot come after the decision.
 */
export function decisionTiming(
  claimed: { occurredAt?: string | undefined; requestedAt?: string | undefined },
  receivedAt: string,
  maxClockSkewMs: number,
): { occurredAt: string; requestedAt?: string } {
  const occurredAt = occurredAtToRecord(claimed.occurredAt, receivedAt, maxClockSkewMs);
  if (claimed.requestedAt === undefined) return { occurredAt };
  assertNotAhead('requestedAt', claimed.requestedAt, receivedAt, maxClockSkewMs);
  if (claimed.requestedAt > occurredAt) throw new RequestedAfterDecisionError(claimed.requestedAt, occurredAt);
  return { occurredAt, requestedAt: claimed.requestedAt };
}
