import { createHmac } from 'node:crypto';
import { AlertDeliveryError, type Alert, type AlertSink } from './alert-sink.port.js';

export const SIGNATURE_HEADER = 'x-ledger-signature';

/** `sha256=<hex HMAC-SHA256 of the raw body>`: receivers recompute it over the bytes they received. */
export const signBody = (secret: string, body: string): string =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/** JSON POST of the whole alert, signed with the shared secret. One attempt; the dispatcher retries. */
export class WebhookAlertSink implements AlertSink {
  readonly name = 'webhook';
  readonly retryable = true;
  /**
   * One at a time, a busy ledger fell behind 50 alerts/s: each POST waits a round trip and the receiver's answer
   * (docs/benchmarks.md, "First alert after a mismatching execution").
   */
  readonly maxConcurrentDeliveries = 8;

  constructor(
    private readonly url: string,
    private readonly secret: string,
    private readonly timeoutMs = 5_000,
  ) {}

  async deliver(alert: Alert): Promise<void> {
    const body = JSON.stringify(alert);
    const response = await fetch(this.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [SIGNATURE_HEADER]: signBody(this.secret, body),
        'x-ledger-alert-id': alert.alertId,
      },
      body,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    await response.body?.cancel().catch(() => undefined);
    if (!response.ok) throw new AlertDeliveryError(this.name, response.status, `webhook answered ${response.status}`);
  }
}
