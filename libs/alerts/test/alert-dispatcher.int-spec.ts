import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { Alert } from '../src/alert-sink.port.js';
import { AlertDispatcher } from '../src/alert-dispatcher.js';
import { WebhookAlertSink } from '../src/webhook.alert-sink.js';

const alert = (n: number): Alert => ({
  alertId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  type: 'MismatchDetected',
  streamId: `approval-a${n}`,
  streamRevision: 1,
  globalPosition: String(n),
  recordedAt: '2026-12-07T00:00:00.000Z',
  severity: 'high',
  kind: 'command_not_approved',
  summary: `mismatch ${n}`,
  data: {},
});

/**
 * A webhook receiver that answers no request until `heldUntil` requests are in, or `fallbackMs` passed (so a
 * dispatcher sending one at a time still finishes, and the test fails on what arrived, not on a hang).
 */
async function receiverAnsweringOnlyTogether(heldUntil: number, fallbackMs: number) {
  const held: ServerResponse[] = [];
  let mostAtOnce = 0;
  const answerAll = () => held.splice(0).forEach((response) => response.writeHead(204).end());
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume();
    request.on('end', () => {
      held.push(response);
      mostAtOnce = Math.max(mostAtOnce, held.length);
      if (held.length >= heldUntil) answerAll();
      else setTimeout(answerAll, fallbackMs).unref();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    mostAtOnce: () => mostAtOnce,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('the alert dispatcher', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'alert-dispatcher-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('given a webhook receiver that answers only once four requests are waiting, when four alerts are published, then the webhook sink has them in delivery at once and each is delivered', async () => {
    const receiver = await receiverAnsweringOnlyTogether(4, 3_000);
    const dispatcher = new AlertDispatcher(
      [new WebhookAlertSink(receiver.url, 'dispatcher-secret-0123456789')],
      { maxAttempts: 1, backoffMs: 10, deadLetterFile: join(dataDir, 'dead-letter.jsonl') },
      pino({ level: 'silent' }),
    );
    try {
      for (let n = 1; n <= 4; n++) dispatcher.publish(alert(n));
      await dispatcher.idle();

      expect(receiver.mostAtOnce()).toBe(4);
      expect(dispatcher.status()).toMatchObject({ delivered: 4, deadLettered: 0, queued: 0 });
    } finally {
      await dispatcher.close();
      await receiver.close();
    }
  });

  it('given a sink that takes one alert at a time, when alerts are published, then they are delivered one after the other in the order raised', async () => {
    const delivered: string[] = [];
    let inDelivery = 0;
    let mostAtOnce = 0;
    const dispatcher = new AlertDispatcher(
      [
        {
          name: 'ordered',
          retryable: true,
          deliver: async (a: Alert) => {
            mostAtOnce = Math.max(mostAtOnce, ++inDelivery);
            await new Promise((resolve) => setImmediate(resolve));
            delivered.push(a.globalPosition);
            inDelivery--;
          },
        },
      ],
      { maxAttempts: 1, backoffMs: 10, deadLetterFile: join(dataDir, 'dead-letter.jsonl') },
      pino({ level: 'silent' }),
    );
    for (let n = 1; n <= 5; n++) dispatcher.publish(alert(n));
    await dispatcher.idle();
    await dispatcher.close();

    expect(mostAtOnce).toBe(1);
    expect(delivered).toEqual(['1', '2', '3', '4', '5']);
  });
});
