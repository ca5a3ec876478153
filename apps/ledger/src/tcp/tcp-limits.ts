/** The bounds of the TCP transport (settings `LEDGER_TCP_*`, see docs/operations.md). */
export interface TcpLimits {
  /** A frame (its JSON text) larger than this is refused, by its announced length before anything is buffered. */
  maxFrameBytes: number;
  /** Bytes of incomplete frames and of requests being handled, across all connections. */
  maxBufferedBytes: number;
  maxConnections: number;
  /** A connection with no traffic (and no request being handled) for this long is closed. */
  idleTimeoutMs: number;
  /** A frame must be complete this long after its first byte; arriving bytes do not extend it. */
  frameTimeoutMs: number;
}

/** Requests of one connection handled at a time; beyond, the connection is not read until replies go out. */
export const MAX_IN_FLIGHT_PER_CONNECTION = 64;

/** After an error reply, how long requests already being handled may still send their replies. */
export const REPLY_DRAIN_MS = 10_000;

/** After an error reply, how long a closing connection is read (and discarded) so the peer sees the reply. */
export const CLOSE_LINGER_MS = 2_000;

/** What all connections of one TCP server share: the open connections and the bytes they buffer. */
export class TcpServerState {
  private bufferedBytes = 0;
  private connections = 0;

  constructor(readonly limits: TcpLimits) {}

  get buffered(): number {
    return this.bufferedBytes;
  }

  get openConnections(): number {
    return this.connections;
  }

  /** Counts a new connection unless the cap is reached. */
  tryOpen(): boolean {
    if (this.connections >= this.limits.maxConnections) return false;
    this.connections++;
    return true;
  }

  closed(): void {
    this.connections--;
  }

  /** Takes `bytes` of the shared buffer budget, unless that would exceed it. */
  tryCharge(bytes: number): boolean {
    if (this.bufferedBytes + bytes > this.limits.maxBufferedBytes) return false;
    this.bufferedBytes += bytes;
    return true;
  }

  release(bytes: number): void {
    this.bufferedBytes -= bytes;
  }
}
