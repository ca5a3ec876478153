import { ServerTCP } from '@nestjs/microservices';
import type { Socket } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import type { ServerTls } from '../transport-security/server-tls.js';
import { boundedJsonSocketClass } from './bounded-json-socket.js';
import type { TcpServerState } from './tcp-limits.js';

/** More than the ledger's message patterns. */
const MAX_REMEMBERED_ROUTES = 256;

export interface LedgerTcpServerOptions {
  host: string;
  port: number;
  /** Set: the transport speaks TLS only (no plain TCP on the same port). */
  tls?: ServerTls;
}

/**
 * Nest's TCP server with the ledger's bounded sockets ({@link boundedJsonSocketClass}), over plain TCP or TLS.
 * Over TLS the connection cap counts a connection from the moment it is accepted, so handshakes in progress are
 * bounded too: beyond the cap a connection is closed at once (no reply: answering would take the handshake the cap
 * saves). A handshake not complete within `LEDGER_TLS_HANDSHAKE_TIMEOUT_MS` is abandoned and its socket closed.
 * Every limit of the plain transport (frame size, buffer budget, frame deadline, idle timeout) applies unchanged to
 * the decrypted stream.
 */
export class LedgerServerTcp extends ServerTCP {
  /** Every accepted raw socket (TLS only): Nest tracks sockets once their handshake is done, these also before. */
  private readonly rawSockets = new Set<Socket>();
  /** Incoming pattern → route, for patterns that name a handler (a bounded set: the routes the ledger declares). */
  private readonly routes = new Map<string, string>();

  constructor(options: LedgerTcpServerOptions, state: TcpServerState, logger: Logger) {
    const tls = options.tls;
    super({
      host: options.host,
      port: options.port,
      socketClass: boundedJsonSocketClass(state, logger, { countedAtAccept: Boolean(tls) }),
      ...(tls ? { tlsOptions: tls.tcp } : {}),
    });
    if (!tls) return;
    // ServerTCP built its server in its constructor (init): listen on it now.
    const server = this.server as unknown as TlsServer;
    server.on('connection', (raw: Socket) => {
      if (!state.tryOpen()) {
        logger.warn({ remote: raw.remoteAddress, code: 'TCP.TOO_MANY_CONNECTIONS' }, 'TLS connection refused');
        raw.destroy();
        return;
      }
      this.rawSockets.add(raw);
      raw.once('close', () => {
        this.rawSockets.delete(raw);
        state.closed();
      });
    });
    // With a listener here Node no longer closes the socket of a failed handshake itself.
    server.on('tlsClientError', (error: Error, socket: Socket) => {
      logger.debug({ remote: socket.remoteAddress, reason: error.message }, 'TLS handshake failed');
      socket.destroy();
    });
  }

  /**
   * Nest's route of a pattern, remembered. Nest first tries the pattern as JSON; our patterns are plain strings
   * (`executions.log`), so every message threw and caught a SyntaxError: the largest single cost of the TCP transport
   * in a CPU profile of the command path (issue 14). Only patterns of declared handlers are kept, and at most
   * {@link MAX_REMEMBERED_ROUTES} (JSON spellings of one route are many: ` "executions.log"`), so no client can grow
   * the map.
   */
  protected override getRouteFromPattern(pattern: string): string {
    const known = this.routes.get(pattern);
    if (known !== undefined) return known;
    const route = super.getRouteFromPattern(pattern);
    if (this.messageHandlers.has(route) && this.routes.size < MAX_REMEMBERED_ROUTES) this.routes.set(pattern, route);
    return route;
  }

  override close(): void {
    super.close();
    for (const raw of this.rawSockets) raw.destroy(); // handshakes in progress would hold the process open
    this.rawSockets.clear();
  }
}
