import 'reflect-metadata';
import { ClientNats, ClientTCP, type ClientProxy } from '@nestjs/microservices';
import type { ConnectionOptions } from 'node:tls';
import { firstValueFrom, race } from 'rxjs';
import { describeError, type ClientLogger } from '../logging/client-logger.js';
import { natsAuthOptions, tcpTlsOptions, type ClientTlsOptions, type NatsCredentials } from './connection-security.js';
import { runningTimeDeadline } from './running-time-deadline.js';
import { outcomeOfFailure, outcomeOfReply, type SendOutcome } from './send-outcome.js';

/** Sends one command and says what came of it. Never throws: failures are outcomes. */
export interface LedgerTransport {
  send(pattern: string, payload: unknown): Promise<SendOutcome>;
  close(): Promise<void>;
}

export type LedgerConnection =
  | { transport?: 'tcp'; host?: string; port?: number; tls?: ClientTlsOptions }
  | { transport: 'nats'; servers: string[]; natsCredentials?: NatsCredentials };

export const DEFAULT_TCP_HOST = '127.0.0.1';
export const DEFAULT_TCP_PORT = 4100;

/**
 * Nest's TCP client, with socket errors (a reset during an outage) sent to our logger instead of Nest's console, and
 * the credential, when there is one, in each packet as its top-level `auth` member (the ledger takes it off before
 * anything else sees the packet).
 */
class LoggedTcpClient extends ClientTCP {
  constructor(
    options: { host: string; port: number; tlsOptions?: ConnectionOptions },
    private readonly log: ClientLogger,
    credential: () => string | undefined,
  ) {
    super({
      ...options,
      serializer: {
        serialize: (packet: object) => {
          const auth = credential();
          return auth === undefined ? packet : { ...packet, auth };
        },
      },
    });
  }

  override handleError(error: unknown): void {
    this.log.warn(describeError(error), 'ledger connection error');
  }

  /**
   * No Nagle delay: a command is one small write, and a gateway may send the next before the last is acknowledged;
   * with Nagle on, that write would wait for the server's ACK of the previous one (the reply, a commit later).
   */
  override createSocket(): ReturnType<ClientTCP['createSocket']> {
    const socket = super.createSocket();
    socket.netSocket.setNoDelay(true);
    return socket;
  }
}

/** Nest's NATS client, presenting credentials at the NATS server (read when it first connects). */
class CredentialedNatsClient extends ClientNats {
  constructor(
    options: ConstructorParameters<typeof ClientNats>[0],
    private readonly credentials: NatsCredentials,
  ) {
    super(options);
  }

  override async createClient(): ReturnType<ClientNats['createClient']> {
    Object.assign(this.options, await natsAuthOptions(this.credentials));
    return super.createClient();
  }
}

/** The part of a Nest `ClientProxy` this transport uses (the TCP and NATS clients differ in their status types). */
type MessageClient = Pick<ClientProxy, 'send' | 'close'>;

/**
 * The NestJS microservice transport (TCP by default, or NATS), with a per-request timeout counted in time this process
 * ran ({@link runningTimeDeadline}).
 */
export class NestLedgerTransport implements LedgerTransport {
  private constructor(
    private readonly proxy: MessageClient,
    private readonly timeoutMs: number,
  ) {}

  /**
   * `credential`: an API key or JWT presented with every command (TCP: packet member `auth`, read for each packet;
   * NATS: header, read when the transport is created).
   */
  static create(
    connection: LedgerConnection,
    timeoutMs: number,
    logger: ClientLogger,
    credential: string | (() => string | undefined) = () => undefined,
  ): NestLedgerTransport {
    const credentialNow = typeof credential === 'function' ? credential : () => credential;
    const proxy: MessageClient =
      connection.transport === 'nats'
        ? (() => {
            const header = credentialNow();
            const options = {
              servers: connection.servers,
              ...(header === undefined ? {} : { headers: { authorization: `Bearer ${header}` } }),
            };
            return connection.natsCredentials
              ? new CredentialedNatsClient(options, connection.natsCredentials)
              : new ClientNats(options);
          })()
        : new LoggedTcpClient(
            {
              host: connection.host ?? DEFAULT_TCP_HOST,
              port: connection.port ?? DEFAULT_TCP_PORT,
              ...(connection.tls ? { tlsOptions: tcpTlsOptions(connection.tls) } : {}),
            },
            logger,
            credentialNow,
          );
    return new NestLedgerTransport(proxy, timeoutMs);
  }

  async send(pattern: string, payload: unknown): Promise<SendOutcome> {
    try {
      const reply = await firstValueFrom(
        race(this.proxy.send<unknown>(pattern, payload), runningTimeDeadline(this.timeoutMs)),
      );
      return outcomeOfReply(reply);
    } catch (error) {
      return outcomeOfFailure(error);
    }
  }

  async close(): Promise<void> {
    await this.proxy.close();
  }
}
