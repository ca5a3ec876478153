export { LedgerClient, type LedgerCommandResult } from './ledger-client.js';
export { CLIENT_DEFAULTS, type LedgerClientOptions } from './ledger-client.options.js';
export {
  LedgerValidationError,
  LedgerRejectedError,
  SpoolLockedError,
  SpoolWriteError,
  LedgerClientClosedError,
  type FieldIssue,
  type LockHolder,
  type IdempotencyConflictDetails,
  IDEMPOTENCY_CONFLICT,
} from './errors.js';
export {
  LEDGER_COMMANDS,
  validateCommand,
  type LedgerCommandName,
  type LedgerCommandInput,
} from './ledger-commands.js';
export { jsonLineLogger, silentLogger, type ClientLogger, type LogFields } from './logging/client-logger.js';
export {
  NestLedgerTransport,
  DEFAULT_TCP_HOST,
  DEFAULT_TCP_PORT,
  type LedgerTransport,
  type LedgerConnection,
} from './transport/ledger-transport.js';
export { DEFAULT_MAX_FRAME_BYTES, tcpFrameBytes } from './transport/frame-size.js';
export type { ClientTlsOptions, NatsCredentials, PemSource } from './transport/connection-security.js';
export { isDefinitiveRefusal, type SendOutcome } from './transport/send-outcome.js';
export { SPOOL_FILES } from './spool/spool.js';
export type { DrainReport, DrainedEntry } from './spool/spool-drain.js';
export type { SpoolEntry, RejectedEntry, ConflictEntry } from './spool/spool-entry.js';
export {
  LOCAL_CREDENTIALS_FILE,
  localCredentialsPath,
  localDataDir,
  readLocalCredentials,
  localKeyFor,
  type LocalCredentials,
  type LocalKey,
} from './credentials/local-credentials.js';
export {
  CLIENT_REDACTION_KEY_FILE,
  clientRedactor,
  redactPayload,
  type ClientRedactionOptions,
} from './redaction/client-redaction.js';
