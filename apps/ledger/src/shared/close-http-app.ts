import type { INestApplication } from '@nestjs/common';
import type { Server } from 'node:http';
import type { Logger } from 'pino';

/**
 * Closes the Nest app, letting in-flight HTTP requests finish for up to `drainMs`; then the connections still open
 * (a client that stopped reading a response, a half-sent request) are cut, so a stop never waits on a client.
 */
export async function closeHttpApp(app: INestApplication, drainMs: number, logger: Logger): Promise<void> {
  const server = app.getHttpServer() as Server;
  const deadline = setTimeout(() => {
    logger.warn({ drainMs }, 'HTTP clients still connected after the drain time; closing their connections');
    server.closeAllConnections();
  }, drainMs);
  deadline.unref();
  try {
    await app.close();
  } finally {
    clearTimeout(deadline);
  }
}
