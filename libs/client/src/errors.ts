import { LedgerError } from '@audit-ledger/domain';

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `artifacts.0.sha256`; empty for the whole request. */
  path: string;
  message: string;
}

const describeIssues = (issues: FieldIssue[]) =>
  issues.map((issue) => `${issue.path || '(request)'}: ${issue.message}`).join('; ');

/** The request failed local validation: nothing was sent, nothing was spooled. */
export class LedgerValidationError extends LedgerError {
  readonly code = 'VALIDATION.FAILED';
  constructor(
    readonly command: string,
    readonly issues: FieldIssue[],
  ) {
    super(`Invalid ${command} request: ${describeIssues(issues)}`);
  }
}

/**
 * What the ledger says with `EVENT_STORE.IDEMPOTENCY_CONFLICT`: the command's idempotency key (execution id, approval
 * id) was used before for different content. `stored` is the event recorded then; `differences` the fields that differ.
 */
export interface IdempotencyConflictDetails {
  idempotencyKey?: string;
  eventId: string;
  stored: { eventId: string; streamId: string; streamRevision: number; globalPosition: string; type: string };
  differences: string[];
}

export const IDEMPOTENCY_CONFLICT = 'EVENT_STORE.IDEMPOTENCY_CONFLICT';

/** The ledger refused the command for good (bad input, or a business rule such as `APPROVAL.ALREADY_DECIDED`). */
export class LedgerRejectedError extends LedgerError {
  constructor(
    readonly code: string,
    message: string,
    readonly issues: FieldIssue[] = [],
    /** For `EVENT_STORE.IDEMPOTENCY_CONFLICT`: the stored event and the fields that differ. */
    readonly details?: IdempotencyConflictDetails,
  ) {
    super(issues.length > 0 ? `${message} (${describeIssues(issues)})` : message);
  }
}

export interface LockHolder {
  pid: number;
  hostname: string;
  acquiredAt: string;
}

/** Another live process owns the spool directory (it drains it); two processes must not share one. */
export class SpoolLockedError extends LedgerError {
  readonly code = 'CLIENT.SPOOL_LOCKED';
  constructor(
    readonly spoolDir: string,
    readonly holder: LockHolder,
  ) {
    super(
      `The spool ${spoolDir} is locked by pid ${holder.pid} on ${holder.hostname} since ${holder.acquiredAt}; ` +
        'give each process a spool directory of its own',
    );
  }
}

/** The ledger was unavailable and the command could not be written to the spool either: it is recorded nowhere. */
export class SpoolWriteError extends LedgerError {
  readonly code = 'CLIENT.SPOOL_WRITE_FAILED';
  constructor(spoolDir: string, cause: unknown) {
    super(`Could not spool the command in ${spoolDir}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.cause = cause;
  }
}

export class LedgerClientClosedError extends LedgerError {
  readonly code = 'CLIENT.CLOSED';
  constructor() {
    super('The ledger client is closed');
  }
}
