import { ServerNats } from '@nestjs/microservices';
import type { Logger } from 'pino';
import { natsConnectError, type NatsConnection } from '../transport-security/nats-credentials.js';

/** The part of a NATS message read here (`@nats-io/nats-core`'s `Msg`). */
interface NatsMessage {
  subject: string;
  reply?: string;
  data: Uint8Array;
  json(): unknown;
  respond(payload?: Uint8Array | string): boolean;
}

/**
 * Nest's NATS server, subscribed to every command subject in the queue group `queue` (`LEDGER_NATS_QUEUE`), so that
 * the ledger processes of one group share the commands and each message is handled by exactly one of them; except that a message that is not JSON is answered (when it has a reply subject) with
 * `NATS.MALFORMED_MESSAGE` instead of only being logged, so a requester learns why and does not wait for a timeout.
 * Payload size is bounded by the NATS server (`max_payload`, 1 MiB by default): larger messages never arrive.
 */
export class LedgerServerNats extends ServerNats {
  constructor(
    private readonly connection: NatsConnection,
    private readonly log: Logger,
    queue: string,
  ) {
    super({ ...connection.options, queue });
  }

  /** A refused or failed connection fails the start with a message naming the server, the credential and the fix. */
  override async listen(callback: (error?: unknown) => void): Promise<void> {
    await super.listen((error?: unknown) => callback(error ? natsConnectError(this.connection, error) : undefined));
  }

  override async handleMessage(channel: string, natsMsg: NatsMessage): Promise<unknown> {
    try {
      natsMsg.json();
    } catch (error) {
      const message = `the message on ${channel} is not JSON: ${(error as Error).message}`;
      this.log.warn({ subject: natsMsg.subject, bytes: natsMsg.data.length }, 'NATS message refused: not JSON');
      if (natsMsg.reply) {
        natsMsg.respond(
          JSON.stringify({ id: null, err: { error: { code: 'NATS.MALFORMED_MESSAGE', message } }, isDisposed: true }),
        );
      }
      return undefined;
    }
    return super.handleMessage(channel, natsMsg);
  }
}
