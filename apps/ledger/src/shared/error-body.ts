import { LedgerError } from '@audit-ledger/domain';
import { EventStoreError, IdempotencyConflictError, type IdempotencyConflictDetails } from '@audit-ledger/event-store';
import { RequestValidationError, type FieldIssue } from './request-validation.js';

export interface ErrorBody {
  /** `details`: for EVENT_STORE.IDEMPOTENCY_CONFLICT, the key, the stored event and the fields that differ. */
  error: { code: string; message: string; issues?: FieldIssue[]; details?: IdempotencyConflictDetails };
}

const HTTP_STATUS_BY_CODE: Record<string, number> = {
  'VALIDATION.FAILED': 400,
  'VALIDATION.MALFORMED_REQUEST': 400,
  'VALIDATION.CLOCK_SKEW': 400,
  'AUTH.UNAUTHENTICATED': 401,
  'AUTH.FORBIDDEN': 403,
  'AUTH.RATE_LIMITED': 429,
  'PRINCIPALS.KEY_NOT_FOUND': 404,
  'PRINCIPALS.NAME_TAKEN': 409,
  'PRINCIPALS.KEY_REVOKED': 409,
  'PRINCIPALS.KEY_ID_TAKEN': 409,
  'PRINCIPALS.UNKNOWN_ROLE': 400,
  'AUTH.IDENTITY_PROVIDER_UNAVAILABLE': 503,
  'APPROVAL.APPROVER_PROOF_INVALID': 400,
  'APPROVAL.APPROVER_PROOF_REQUIRED': 400,
  'APPROVAL.NOT_FOUND': 404,
  'APPROVAL.ALREADY_DECIDED': 409,
  'ERASURE.FORBIDDEN': 403,
  'ERASURE.SECOND_APPROVER_REQUIRED': 409,
  'ERASURE.ALREADY_ERASED': 409,
  'EVENT_STORE.STREAM_NOT_FOUND': 404,
  'EVENT_STORE.WRONG_EXPECTED_VERSION': 409,
  'EVENT_STORE.IDEMPOTENCY_CONFLICT': 409,
  'EVENT_STORE.INVALID_APPEND': 400,
  'EVENT_STORE.UNAVAILABLE': 503,
};

/** One mapping of errors to the wire, shared by the HTTP and RPC filters. Unknown errors never leak details. */
export function toErrorReply(error: unknown): { status: number; body: ErrorBody; internal: boolean } {
  if (error instanceof RequestValidationError) {
    return {
      status: 400,
      body: { error: { code: error.code, message: error.message, issues: error.issues } },
      internal: false,
    };
  }
  if (error instanceof LedgerError || error instanceof EventStoreError) {
    const status = HTTP_STATUS_BY_CODE[error.code] ?? 500;
    const details = error instanceof IdempotencyConflictError ? error.details : undefined;
    const body = { error: { code: error.code, message: error.message, ...(details ? { details } : {}) } };
    return { status, body, internal: status >= 500 };
  }
  if (isConnectionError(error)) {
    return {
      status: 503,
      body: { error: { code: 'EVENT_STORE.UNAVAILABLE', message: 'The event store is unreachable; retry later' } },
      internal: true,
    };
  }
  return {
    status: 500,
    body: { error: { code: 'INTERNAL', message: 'Internal error; nothing was recorded' } },
    internal: true,
  };
}

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    typeof code === 'string' &&
    (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P03'].includes(code) || code.startsWith('08'))
  );
}
