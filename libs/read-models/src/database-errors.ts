/**
 * Errors after which the same work may succeed when done again, so a projection must retry, never park:
 * SQLSTATE classes 08 (connection), 40 (transaction rollback: deadlock, serialization), 53 (insufficient resources),
 * 57 (operator intervention: shutdown, statement timeout), 58 (system error), lock not available (55P03), an aborted
 * transaction (25P02), and socket-level errors from the driver. Everything else a projection throws on an event (a
 * value PostgreSQL refuses, a constraint, a bug in `apply`) happens again on every attempt: deterministic.
 */
const TRANSIENT_CLASSES = ['08', '40', '53', '57', '58'];
const TRANSIENT_SQLSTATES = new Set(['55P03', '25P02']);
const TRANSIENT_SOCKET_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTCONN',
  'EHOSTUNREACH',
]);
const CONNECTION_MESSAGES = /Connection terminated|Client has encountered a connection error|Client was closed/i;

export function isTransientDatabaseError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (TRANSIENT_SQLSTATES.has(code) || TRANSIENT_SOCKET_CODES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && TRANSIENT_CLASSES.includes(code.slice(0, 2))) return true;
  }
  return error instanceof Error && CONNECTION_MESSAGES.test(error.message);
}
