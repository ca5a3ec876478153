import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

interface ReceivedRequest {
  at: number;
  headers: IncomingHttpHeaders;
  /** The body exactly as sent (signatures are over these bytes). */
  raw: string;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedRequest[];
  close(): Promise<void>;
}

/**
 * A local HTTP receiver for alert sinks: records every request with its raw body and answers `status(n)` to the
 * n-th one (1-based; 204 by default).
 */
export async function startWebhookReceiver(status: (n: number) => number = () => 204): Promise<WebhookReceiver> {
  const received: ReceivedRequest[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ at: Date.now(), headers: request.headers, raw: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(status(received.length)).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
