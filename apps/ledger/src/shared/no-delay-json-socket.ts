import { JsonSocket } from '@nestjs/microservices/helpers/json-socket.js';
import type { Socket } from 'node:net';

/**
 * Nest's TCP server leaves Nagle's algorithm on: a reply then waits for the client's next request before it leaves,
 * which put a floor of several milliseconds under every acknowledgement. Acks are small and latency-critical.
 */
export class NoDelayJsonSocket extends JsonSocket {
  constructor(socket: Socket) {
    socket.setNoDelay(true);
    super(socket);
  }
}
