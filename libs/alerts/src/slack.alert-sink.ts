import { AlertDeliveryError, type Alert, type AlertSink } from './alert-sink.port.js';

/** Slack-compatible incoming webhook (also Mattermost, Rocket.Chat, Teams' Slack mode): `{ text }`. */
export class SlackAlertSink implements AlertSink {
  readonly name = 'slack';
  readonly retryable = true;

  constructor(
    private readonly url: string,
    private readonly timeoutMs = 5_000,
  ) {}

  async deliver(alert: Alert): Promise<void> {
    const response = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: alert.summary }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    await response.body?.cancel().catch(() => undefined);
    if (!response.ok)
      throw new AlertDeliveryError(this.name, response.status, `slack webhook answered ${response.status}`);
  }
}
