import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { LedgerConfig } from '../config/ledger.config.js';
import { AlertDispatcher } from './alert-dispatcher.js';
import type { AlertSink } from './alert-sink.port.js';
import { SlackAlertSink } from './slack.alert-sink.js';
import { SseAlertSink } from './sse.alert-sink.js';
import { WebhookAlertSink } from './webhook.alert-sink.js';

const DEAD_LETTER_FILE = 'alerts-dead-letter.jsonl';

/** The sinks the configuration asks for (SSE always), behind one dispatcher. */
export function createAlerting(
  config: LedgerConfig,
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
