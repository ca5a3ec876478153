import { z } from 'zod';
import type { AlertingConfig } from './alert-sinks.js';

/**
 * The alert sinks' settings (docs/operations.md "Alerts"): a signed JSON webhook, a Slack-compatible incoming webhook,
 * and the delivery attempts before the dead-letter file. Spread into the ledger's configuration schema, and read
 * alone by the commands that alert outside the ledger (`ledger projections rebuild`).
 */
export const alertingSettings = {
  /** Alert sinks: a signed JSON webhook, a Slack-compatible incoming webhook; SSE at /v1/alerts/stream is always on. */
  alertWebhookUrl: z.string().url().optional(),
  alertWebhookSecret: z.string().min(16).optional(),
  alertSlackUrl: z.string().url().optional(),
  /** Delivery attempts per alert and sink before the dead-letter file; the backoff doubles from the base delay. */
  alertMaxAttempts: z.coerce.number().int().min(1).max(20).default(5),
  alertBackoffMs: z.coerce.number().int().min(1).max(60_000).default(500),
};

export const ALERTING_VARIABLES = {
  alertWebhookUrl: 'LEDGER_ALERT_WEBHOOK_URL',
  alertWebhookSecret: 'LEDGER_ALERT_WEBHOOK_SECRET',
  alertSlackUrl: 'LEDGER_ALERT_SLACK_URL',
  alertMaxAttempts: 'LEDGER_ALERT_MAX_ATTEMPTS',
  alertBackoffMs: 'LEDGER_ALERT_BACKOFF_MS',
} as const satisfies Record<keyof typeof alertingSettings, string>;

/** What is wrong with a parsed alerting configuration beyond each field's own rule (nothing: an empty list). */
export function alertingProblems(config: Pick<AlertingConfig, 'alertWebhookUrl' | 'alertWebhookSecret'>): string[] {
  return config.alertWebhookUrl && !config.alertWebhookSecret
    ? ['LEDGER_ALERT_WEBHOOK_SECRET: required when LEDGER_ALERT_WEBHOOK_URL is set (alerts are signed)']
    : [];
}

/**
 * The alerting configuration from the same LEDGER_* variables the ledger reads (empty ones count as unset), the
 * dead-letter file in LEDGER_DATA_DIR (default ./data). Throws naming the variable and the reason.
 */
export function alertingConfigFromEnvironment(env: NodeJS.ProcessEnv = process.env): AlertingConfig {
  const fromEnv: Record<string, string> = {};
  for (const [key, variable] of Object.entries(ALERTING_VARIABLES)) {
    const value = env[variable];
    if (value !== undefined && value !== '') fromEnv[key] = value;
  }
  const parsed = z.object(alertingSettings).safeParse(fromEnv);
  const problems = parsed.success
    ? alertingProblems(parsed.data)
    : parsed.error.issues.map(
        (issue) => `${ALERTING_VARIABLES[issue.path[0] as keyof typeof ALERTING_VARIABLES]}: ${issue.message}`,
      );
  if (!parsed.success || problems.length > 0) throw new Error(`Invalid configuration: ${problems.join('; ')}`);
  return { ...parsed.data, dataDir: env['LEDGER_DATA_DIR'] || './data' };
}
