import 'reflect-metadata';
import { ClientNats, ClientTCP, type ClientProxy } from '@nestjs/microservices';
import { firstValueFrom, timeout } from 'rxjs';
import { describeError, type ClientLogger } from '../logging/client-logger.js';
import { outcomeOfFailure, outcomeOfReply, type SendOutcome } from './send-outcome.js';

/** Sends one command and says what came of it. Never throws: failures are outcomes. */
export interface LedgerTransport {
  send(pattern: string, payload: unknown): Promise<SendOutcome>;
  close(): Promise<void>;
}

export type LedgerConnection =
  { transport?: 'tcp'; host?: string; port?: number } | { transport: 'nats'; servers: string[] };

export const DEFAULT_TCP_HOST = '127.0.0.1';
export const DEFAULT_TCP_PORT = 4100;

/** Nest's TCP client, with socket errors (a reset during an outage) sent to our logger instead of Nest's console. */
class LoggedTcpClient extends ClientTCP {
  constructor(
    options: { host: string; port: number },
    private readonly log: ClientLogger,
  ) {
    super(options);
  }

  override handleError(error: unknown): void {
    this.log.warn(describeError(error), 'ledger connection error');
  }
}

/** The part of a Nest `ClientProxy` this transport uses (the TCP and NATS clients differ in their status types). */
type MessageClient = Pick<ClientProxy, 'send' | 'close'>;

/** The NestJS microservice transport (TCP by default, or NATS), with a per-request timeout. */
export class NestLedgerTransport implements LedgerTransport {
  private constructor(
    private readonly proxy: MessageClient,
    private readonly timeoutMs: number,
  ) {}

  static create(connection: LedgerConnection, timeoutMs: number, logger: ClientLogger): NestLedgerTransport {
    const proxy: MessageClient =
      connection.transport === 'nats'
        ? new ClientNats({ servers: connection.servers })
        : new LoggedTcpClient(
            { host: connection.host ?? DEFAULT_TCP_HOST, port: connection.port ?? DEFAULT_TCP_PORT },
            logger,
          );
    return new NestLedgerTransport(proxy, timeoutMs);
  }

  async send(pattern: string, payload: unknown): Promise<SendOutcome> {
    try {
      const reply = await firstValueFrom(
        this.proxy.send<unknown>(pattern, payload).pipe(timeout({ first: this.timeoutMs })),
      );
      return outcomeOfReply(reply);
    } catch (error) {
      return outcomeOfFailure(error, this.timeoutMs);
    }
  }

  async close(): Promise<void> {
    await this.proxy.close();
  }
}
