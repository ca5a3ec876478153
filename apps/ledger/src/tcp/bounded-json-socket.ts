import type { Type } from '@nestjs/common';
import { TcpSocket } from '@nestjs/microservices/helpers/tcp-socket.js';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { takePacketCredential } from '../identity/packet-credentials.js';
import { FrameReader, type FrameError } from './frame-reader.js';
import { CLOSE_LINGER_MS, MAX_IN_FLIGHT_PER_CONNECTION, REPLY_DRAIN_MS, type TcpServerState } from './tcp-limits.js';

/** Every way the TCP transport refuses a connection or a frame; the reply carries it as `err.error.code`. */
type TcpErrorCode =
  | FrameError['code']
  | 'TCP.FRAME_TIMEOUT'
  | 'TCP.IDLE_TIMEOUT'
  | 'TCP.TOO_MANY_CONNECTIONS'
  | 'TCP.BUSY'
  | 'TCP.CLIENT_CERT_REFUSED';

/** How the server counts connections against the cap. */
export interface SocketAdmission {
  /** The server counted this connection when it was accepted (TLS: handshakes count too); do not count it again. */
  countedAtAccept: boolean;
}

/** Replies queued for a peer that does not read them, beyond which the connection is cut. */
const MAX_SEND_BUFFER_BYTES = 8 * 1024 * 1024;
const MAX_PACKET_ID_CHARS = 256;

interface RequestPacket extends Record<string, unknown> {
  id: string;
  pattern: unknown;
}

/**
 * Nest's TCP socket (`<length>#<json>` frames) with bounded resources, for the ledger's TCP server:
 * frames are read by a {@link FrameReader} (size checked before buffering); the bytes of incomplete frames and of
 * requests being handled are charged to a budget shared by all connections; connections beyond the cap, idle ones,
 * and frames not complete within their deadline (counted from their first byte, not refreshed by later bytes) are
 * answered with an error and closed; a frame that is not a request packet (object with a string `id` and a
 * `pattern`) is answered likewise. Nothing of a refused frame reaches a handler.
 */
class BoundedJsonSocket extends TcpSocket {
  private readonly reader: FrameReader;
  private counted = false;
  private closing = false;
  private heldCharge = 0;
  private readonly inFlight = new Map<string, number[]>();
  private inFlightBytes = 0;
  private inFlightCount = 0;
  private backpressured = false;
  private stash: Buffer | undefined;
  private frameStartedAt = 0;
  private frameTimer: NodeJS.Timeout | undefined;

  constructor(
    socket: Socket,
    private readonly state: TcpServerState,
    private readonly logger: Logger,
    admission: SocketAdmission = { countedAtAccept: false },
  ) {
    super(socket);
    this.reader = new FrameReader(state.limits.maxFrameBytes);
    socket.setNoDelay(true); // acks are small and latency-critical: no Nagle delay
    socket.once('close', () => this.onClose());
    const certificateProblem = clientCertificateProblem(socket);
    if (certificateProblem) {
      this.closeWithError('TCP.CLIENT_CERT_REFUSED', certificateProblem);
      return;
    }
    if (!admission.countedAtAccept && !state.tryOpen()) {
      this.closeWithError(
        'TCP.TOO_MANY_CONNECTIONS',
        `the ledger accepts at most ${state.limits.maxConnections} TCP connections; retry later`,
      );
      return;
    }
    this.counted = !admission.countedAtAccept; // else the server uncounts it when the raw socket closes
    if (state.limits.idleTimeoutMs > 0) {
      socket.setTimeout(state.limits.idleTimeoutMs);
      socket.on('timeout', () => this.onIdle());
    }
  }

  override sendMessage(message: unknown, callback?: (err?: unknown) => void): void {
    if (this.socket.writableEnded || this.socket.destroyed) {
      callback?.(new Error('the connection is closed'));
      return;
    }
    super.sendMessage(message, callback);
    this.settle(message);
  }

  protected handleSend(message: unknown, callback?: (err?: unknown) => void): void {
    if (this.socket.writableEnded) return;
    const flushed = this.socket.write(frameOf(message), 'utf8', callback);
    if (this.socket.writableLength > MAX_SEND_BUFFER_BYTES) {
      this.logger.warn({ remote: this.socket.remoteAddress }, 'TCP peer does not read its replies; connection cut');
      this.socket.destroy();
      return;
    }
    if (!flushed && !this.backpressured) {
      this.backpressured = true;
      this.socket.once('drain', () => {
        this.backpressured = false;
        this.resumeIfPossible();
      });
    }
  }

  protected handleData(data: Buffer | string): void {
    if (this.closing) return;
    const chunk = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (this.stash) {
      this.stash = Buffer.concat([this.stash, chunk]);
      return;
    }
    this.consume(chunk, 0);
  }

  private consume(chunk: Buffer, from: number): void {
    let offset = from;
    while (offset < chunk.length && !this.closing) {
      if (this.isPaused()) {
        this.stash = Buffer.from(chunk.subarray(offset));
        this.socket.pause();
        return;
      }
      if (!this.reader.inFrame) this.frameStartedAt = Date.now();
      const result = this.reader.read(chunk, offset);
      if (result.kind === 'error') {
        this.closeWithError(result.error.code, result.error.message);
        return;
      }
      if (result.kind === 'partial') {
        if (!this.state.tryCharge(result.heldDelta)) {
          this.closeWithError('TCP.BUSY', busyMessage(this.state.limits.maxBufferedBytes));
          return;
        }
        this.heldCharge += result.heldDelta;
        this.armFrameTimer();
        return;
      }
      offset = result.next;
      this.state.release(this.heldCharge);
      this.heldCharge = 0;
      this.clearFrameTimer();
      this.dispatch(result.text, result.bytes);
    }
  }

  private dispatch(text: string, bytes: number): void {
    let packet: unknown;
    try {
      packet = JSON.parse(text);
    } catch (error) {
      this.closeWithError('TCP.MALFORMED_FRAME', `the frame is not JSON: ${(error as Error).message}`);
      return;
    }
    if (!isRequestPacket(packet)) {
      this.closeWithError(
        'TCP.MALFORMED_FRAME',
        'the frame is not a request packet: expected a JSON object with a string "id" ' +
          `(1-${MAX_PACKET_ID_CHARS} characters) and a "pattern" (string or object)`,
        idOf(packet),
      );
      return;
    }
    if (!this.state.tryCharge(bytes)) {
      this.logger.warn({ remote: this.socket.remoteAddress, code: 'TCP.BUSY' }, 'TCP request refused');
      this.socket.write(frameOf(errorPacket(packet.id, 'TCP.BUSY', busyMessage(this.state.limits.maxBufferedBytes))));
      return;
    }
    const sizes = this.inFlight.get(packet.id);
    if (sizes) sizes.push(bytes);
    else this.inFlight.set(packet.id, [bytes]);
    this.inFlightBytes += bytes;
    this.inFlightCount++;
    takePacketCredential(packet); // the guard finds it by the packet's data; nothing else ever sees it
    this.socket.emit('message', packet);
  }

  /** A final reply (the disposing one, or an error) ends its request: its bytes leave the budget. */
  private settle(message: unknown): void {
    if (typeof message !== 'object' || message === null) return;
    const { id, isDisposed, err, status } = message as Record<string, unknown>;
    if (typeof id !== 'string' || !(isDisposed === true || err !== undefined || status === 'error')) return;
    const sizes = this.inFlight.get(id);
    const bytes = sizes?.shift();
    if (bytes === undefined) return;
    if (sizes!.length === 0) this.inFlight.delete(id);
    this.inFlightBytes -= bytes;
    this.inFlightCount--;
    this.state.release(bytes);
    if (this.closing) {
      if (this.inFlightCount === 0) this.finish();
    } else this.resumeIfPossible();
  }

  private isPaused(): boolean {
    return this.backpressured || this.inFlightCount >= MAX_IN_FLIGHT_PER_CONNECTION;
  }

  private resumeIfPossible(): void {
    if (this.closing || this.isPaused()) return;
    const stash = this.stash;
    this.stash = undefined;
    this.socket.resume();
    if (stash) this.consume(stash, 0);
  }

  private armFrameTimer(): void {
    if (this.frameTimer || this.state.limits.frameTimeoutMs <= 0) return;
    const remaining = this.frameStartedAt + this.state.limits.frameTimeoutMs - Date.now();
    this.frameTimer = setTimeout(
      () =>
        this.closeWithError(
          'TCP.FRAME_TIMEOUT',
          `a frame must be complete within ${this.state.limits.frameTimeoutMs} ms of its first byte`,
        ),
      Math.max(0, remaining),
    );
    this.frameTimer.unref();
  }

  private clearFrameTimer(): void {
    clearTimeout(this.frameTimer);
    this.frameTimer = undefined;
  }

  private onIdle(): void {
    if (this.closing || this.inFlightCount > 0) return; // a request being handled is not idleness
    if (this.reader.inFrame) {
      this.closeWithError(
        'TCP.FRAME_TIMEOUT',
        `no byte of the frame in progress for ${this.state.limits.idleTimeoutMs} ms`,
      );
    } else {
      this.closeWithError(
        'TCP.IDLE_TIMEOUT',
        `no request for ${this.state.limits.idleTimeoutMs} ms; reconnect to send more`,
      );
    }
  }

  /**
   * Answers with an error packet (id null unless known) and stops reading into memory; replies to requests already
   * being handled still go out (for up to {@link REPLY_DRAIN_MS}), then the connection is closed.
   */
  private closeWithError(code: TcpErrorCode, message: string, id: string | null = null): void {
    if (this.closing) return;
    this.closing = true;
    this.logger.warn({ remote: this.socket.remoteAddress, code, reason: message }, 'TCP connection refused');
    this.clearFrameTimer();
    this.state.release(this.heldCharge);
    this.heldCharge = 0;
    this.stash = undefined;
    this.reader.clear();
    if (this.socket.destroyed) return;
    this.socket.write(frameOf(errorPacket(id, code, message)));
    this.socket.resume(); // read and discard what the peer still sends, so it can see the reply before the close
    if (this.inFlightCount === 0) this.finish();
    else setTimeout(() => this.finish(), REPLY_DRAIN_MS).unref();
  }

  private finish(): void {
    if (this.socket.writableEnded || this.socket.destroyed) return;
    this.socket.end();
    const linger = setTimeout(() => this.socket.destroy(), CLOSE_LINGER_MS);
    linger.unref();
    this.socket.once('close', () => clearTimeout(linger));
  }

  private releaseAll(): void {
    this.clearFrameTimer();
    this.state.release(this.heldCharge + this.inFlightBytes);
    this.heldCharge = 0;
    this.inFlightBytes = 0;
    this.inFlightCount = 0;
    this.inFlight.clear();
    this.stash = undefined;
    this.reader.clear();
  }

  private onClose(): void {
    this.closing = true;
    this.releaseAll();
    if (this.counted) this.state.closed();
    this.counted = false;
  }
}

/** Binds a socket class to one server's shared state (Nest constructs it with the raw socket only). */
export function boundedJsonSocketClass(
  state: TcpServerState,
  logger: Logger,
  admission: SocketAdmission = { countedAtAccept: false },
): Type<TcpSocket> {
  return class LedgerJsonSocket extends BoundedJsonSocket {
    constructor(socket: Socket) {
      super(socket, state, logger, admission);
    }
  };
}

/**
 * A client certificate presented but not verified against the CA (possible when client certificates are optional:
 * the handshake then lets it through): refused rather than treated as no certificate.
 */
function clientCertificateProblem(socket: Socket): string | undefined {
  if (!(socket instanceof TLSSocket) || socket.authorized) return undefined;
  const presented = Boolean(socket.getPeerCertificate()?.raw);
  return presented
    ? `the client certificate is not trusted (${String(socket.authorizationError)}): present one issued by the ` +
        "ledger's client CA, or none"
    : undefined;
}

function frameOf(message: unknown): string {
  const json = JSON.stringify(message);
  return `${json.length}#${json}`;
}

function errorPacket(id: string | null, code: TcpErrorCode, message: string) {
  return { id, err: { error: { code, message } }, status: 'error', isDisposed: true };
}

function busyMessage(maxBufferedBytes: number): string {
  return `the ledger is buffering its maximum of ${maxBufferedBytes} bytes of TCP frames; retry later`;
}

function isRequestPacket(value: unknown): value is RequestPacket {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { id, pattern } = value as Record<string, unknown>;
  return (
    typeof id === 'string' &&
    id.length > 0 &&
    id.length <= MAX_PACKET_ID_CHARS &&
    (typeof pattern === 'string' || (typeof pattern === 'object' && pattern !== null && !Array.isArray(pattern)))
  );
}

function idOf(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return null;
  const { id } = value as Record<string, unknown>;
  return typeof id === 'string' && id.length <= MAX_PACKET_ID_CHARS ? id : null;
}
