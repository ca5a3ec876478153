import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { AlertDispatcher } from './alert-dispatcher.js';
import type { AlertSink } from './alert-sink.port.js';
import { SlackAlertSink } from './slack.alert-sink.js';
import { SseAlertSink } from './sse.alert-sink.js';
import { WebhookAlertSink } from './webhook.alert-sink.js';

export const DEAD_LETTER_FILE = 'alerts-dead-letter.jsonl';

/** What alerting takes from the ledger's configuration (LEDGER_ALERT_* and LEDGER_DATA_DIR; a LedgerConfig fits). */
export interface AlertingConfig {
  alertWebhookUrl?: string | undefined;
  alertWebhookSecret?: string | undefined;
  alertSlackUrl?: string | undefined;
  alertMaxAttempts: number;
  alertBackoffMs: number;
  /** The dead-letter file of alerts that could not be delivered is written here. */
  dataDir: string;
}

/** The sinks the configuration asks for (SSE always), behind one dispatcher. */
export function createAlerting(
  config: AlertingConfig,
  logger: Logger,
): { dispatcher: AlertDispatcher; sse: SseAlertSink } {
  const sse = new SseAlertSink();
  const sinks: AlertSink[] = [sse];
  if (config.alertWebhookUrl) sinks.push(new WebhookAlertSink(config.alertWebhookUrl, config.alertWebhookSecret!));
  if (config.alertSlackUrl) sinks.push(new SlackAlertSink(config.alertSlackUrl));
  const dispatcher = new AlertDispatcher(
    sinks,
    {
      maxAttempts: config.alertMaxAttempts,
      backoffMs: config.alertBackoffMs,
      deadLetterFile: join(resolve(config.dataDir), DEAD_LETTER_FILE),
    },
    logger.child({ component: 'alerts' }),
  );
  return { dispatcher, sse };
}
