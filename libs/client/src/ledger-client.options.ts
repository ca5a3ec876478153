import { jsonLineLogger, type ClientLogger } from './logging/client-logger.js';
import type { Backoff } from './spool/drain-scheduler.js';
import type { DrainedEntry } from './spool/spool-drain.js';
import { DEFAULT_MAX_FRAME_BYTES } from './transport/frame-size.js';
import type { LedgerConnection, LedgerTransport } from './transport/ledger-transport.js';
import type { ClientRedactionOptions } from './redaction/client-redaction.js';

export type LedgerClientOptions = LedgerConnection & {
  /**
   * The API key (or JWT) presented with every command, spooled ones included when they are sent (never written to the
   * spool). Unset: the gateway key of the local credentials file (`$LEDGER_DATA_DIR/credentials`, else
   * `./data/credentials`), which the ledger writes on its first start; none there: commands go without one.
   */
  credential?: string;
  /**
   * A request with no reply within this time is spooled (the ledger may have recorded it: resending is safe). Counted
   * in time the client's process ran: a pause of the process itself (a long garbage collection, a starved CPU, a
   * suspended machine) does not count, and a reply that arrived during one is read before the deadline is judged.
   */
  requestTimeoutMs?: number;
  /** Where unacknowledged commands wait. One directory per process. */
  spoolDir?: string;
  /** Drain the spool in the background when the ledger comes back (off: only `drainSpool()` sends it). */
  backgroundDrain?: boolean;
  /** Delay between background drain attempts while the ledger is away. */
  drainBackoff?: Partial<Backoff>;
  /** How long spooling waits for another process that holds the spool directory. */
  lockWaitMs?: number;
  logger?: ClientLogger;
  /**
   * Called for each spooled command the ledger answers with an idempotency conflict while draining (in the background
   * or by `drainSpool()`); the entry is kept in `conflicts.jsonl` either way and logged as an error.
   */
  onSpoolConflict?: (conflict: Extract<DrainedEntry, { outcome: 'conflict' }>) => void;
  /**
   * The ledger's `LEDGER_TCP_MAX_FRAME_BYTES` (default its default, 48 MiB). A command whose TCP frame would be larger
   * throws a LedgerValidationError before anything is sent or spooled (the ledger would close the connection on it,
   * and it would be retried forever); a spooled one is moved to `rejected.jsonl` when drained. Not checked over NATS.
   */
  maxFrameBytes?: number;
  /**
   * Secrets redaction before a command is sent or spooled (docs/security.md, "Secrets redaction"): on by default, with
   * a key of its own kept in the spool directory; `false` sends texts as given (the ledger still redacts them).
   */
  redaction?: ClientRedactionOptions | false;
  /** Replaces the NestJS transport (another transport, or a test double for the client's own unit tests). */
  ledgerTransport?: LedgerTransport;
};

export const CLIENT_DEFAULTS = {
  requestTimeoutMs: 5_000,
  spoolDir: './.ledger-spool',
  backgroundDrain: true,
  drainBackoff: { initialMs: 1_000, maxMs: 30_000 },
  lockWaitMs: 2_000,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
} as const;

export interface ResolvedClientSettings {
  requestTimeoutMs: number;
  spoolDir: string;
  backgroundDrain: boolean;
  drainBackoff: Backoff;
  lockWaitMs: number;
  /** Undefined over NATS (its own limit applies there). */
  maxFrameBytes: number | undefined;
  logger: ClientLogger;
  redaction: ClientRedactionOptions | false;
  onSpoolConflict?: (conflict: Extract<DrainedEntry, { outcome: 'conflict' }>) => void;
}

export function resolveClientSettings(options: LedgerClientOptions): ResolvedClientSettings {
  return {
    requestTimeoutMs: options.requestTimeoutMs ?? CLIENT_DEFAULTS.requestTimeoutMs,
    spoolDir: options.spoolDir ?? CLIENT_DEFAULTS.spoolDir,
    backgroundDrain: options.backgroundDrain ?? CLIENT_DEFAULTS.backgroundDrain,
    drainBackoff: { ...CLIENT_DEFAULTS.drainBackoff, ...options.drainBackoff },
    lockWaitMs: options.lockWaitMs ?? CLIENT_DEFAULTS.lockWaitMs,
    maxFrameBytes: options.transport === 'nats' ? undefined : maxFrameBytesOf(options.maxFrameBytes),
    logger: options.logger ?? jsonLineLogger(),
    redaction: options.redaction ?? {},
    ...(options.onSpoolConflict ? { onSpoolConflict: options.onSpoolConflict } : {}),
  };
}

function maxFrameBytesOf(value: number | undefined): number {
  if (value === undefined) return CLIENT_DEFAULTS.maxFrameBytes;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`maxFrameBytes must be a positive integer (bytes), got ${String(value)}`);
  }
  return value;
}
