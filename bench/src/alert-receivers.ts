import { SIGNATURE_HEADER, signBody, type Alert } from '@audit-ledger/alerts';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export type AlertReceiverName = 'webhook' | 'sse';

/** Called with each alert a receiver got and when it got it (`performance.now()`, the bench's clock). */
export type OnAlert = (receiver: AlertReceiverName, alert: Alert, at: number) => void;

export interface WebhookReceiver {
  /** The ledger's LEDGER_ALERT_WEBHOOK_URL and LEDGER_ALERT_WEBHOOK_SECRET. */
  env: Record<string, string>;
  /** Deliveries refused for a signature that did not match the body (none expected). */
  readonly badSignatures: number;
  close(): Promise<void>;
}

/**
 * An HTTP server the ledger's webhook sink posts to, as an operator's receiver would be: it checks each delivery's
 * `x-ledger-signature` against the raw body (401 when wrong) and answers 204. An alert counts as received when its
 * whole body has arrived.
 */
export async function webhookReceiver(onAlert: OnAlert): Promise<WebhookReceiver> {
  const secret = randomBytes(24).toString('hex');
  let badSignatures = 0;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const at = performance.now();
      const body = Buffer.concat(chunks).toString('utf8');
      const expected = Buffer.from(signBody(secret, body));
      const presented = Buffer.from(String(request.headers[SIGNATURE_HEADER] ?? ''));
      if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
        badSignatures++;
        response.writeHead(401).end();
        return;
      }
      response.writeHead(204).end();
      onAlert('webhook', JSON.parse(body) as Alert, at);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    env: { LEDGER_ALERT_WEBHOOK_URL: `http://127.0.0.1:${port}/alerts`, LEDGER_ALERT_WEBHOOK_SECRET: secret },
    get badSignatures() {
      return badSignatures;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface SseReceiver {
  close(): Promise<void>;
}

/**
 * A dashboard's view: `GET /v1/alerts/stream` with a key that may read it, parsed as server-sent events. An alert
 * counts as received when its frame (up to the blank line that ends it) has arrived. Resolves once the stream is open
 * (the ledger's HTTP server may come up a moment after its TCP port).
 */
export async function sseReceiver(baseUrl: string, credential: string, onAlert: OnAlert): Promise<SseReceiver> {
  const aborted = new AbortController();
  let response: Response | undefined;
  for (let attempt = 0; !response?.ok; attempt++) {
    if (attempt > 100) throw new Error(`GET /v1/alerts/stream answered ${response?.status ?? 'nothing'}`);
    response = await fetch(`${baseUrl}/v1/alerts/stream`, {
      headers: { authorization: `Bearer ${credential}`, accept: 'text/event-stream' },
      signal: aborted.signal,
    }).catch(() => undefined);
    if (!response?.ok) await sleep(100);
  }
  const reader = response.body!.getReader();
  const reading = (async () => {
    const decoder = new TextDecoder();
    let buffered = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      const at = performance.now();
      buffered += decoder.decode(value, { stream: true });
      for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
        const data = buffered
          .slice(0, end)
          .split('\n')
          .filter((line) => line.startsWith('data: '))
          .map((line) => line.slice('data: '.length))
          .join('\n');
        buffered = buffered.slice(end + 2);
        if (data) onAlert('sse', JSON.parse(data) as Alert, at); // comments (`: keep-alive`) carry no data
      }
    }
  })().catch((error: unknown) => {
    // The alerts it misses count as not received; this says why.
    if (!aborted.signal.aborted) process.stderr.write(`the alert stream failed: ${String(error)}\n`);
  });
  return {
    async close() {
      aborted.abort();
      await reading;
    },
  };
}
