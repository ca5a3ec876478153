import { MESSAGE_PATTERNS } from '@audit-ledger/domain';
import { createHmac } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../apps/ledger/src/index.js';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { within } from '../support/within.js';

const SECRET = 'alerts-secret-0123456789';

describe('alert sinks, end to end', () => {
  let t: LedgerUnderTest;
  let webhook: WebhookReceiver;
  let slack: WebhookReceiver;
  let dataDir: string;

  beforeAll(async () => {
    webhook = await startWebhookReceiver((n) => (n <= 2 ? 503 : 204)); // fails twice, then accepts
    slack = await startWebhookReceiver(() => 500); // never accepts
    dataDir = await mkdtemp(join(tmpdir(), 'ledger-alerts-'));
    t = await startLedgerUnderTest({
      dataDir,
      reconciliationEnabled: true,
      alertWebhookUrl: webhook.url,
      alertWebhookSecret: SECRET,
      alertSlackUrl: slack.url,
      alertMaxAttempts: 3,
      alertBackoffMs: 50,
    });
  });
  afterAll(async () => {
    await t.stop();
    await Promise.all([webhook.close(), slack.close()]);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('given a failing webhook, when a mismatch is detected, then it is retried with a doubling backoff until delivered, each attempt signed the same; a Slack hook that keeps failing ends in the dead-letter file', async () => {
    const approval = anApproval();
    await t.send(MESSAGE_PATTERNS.grantApproval, approval);
    await t.send(MESSAGE_PATTERNS.logExecution, anExecution({ approvalId: approval.approvalId, command: 'rm -rf /' }));

    await within(5000, 'three webhook attempts', () => (webhook.received.length >= 3 ? true : undefined));
    const [a, b, c] = webhook.received;
    expect(new Set(webhook.received.map((hit) => hit.raw)).size).toBe(1); // the same alert, byte for byte
    for (const hit of [a!, b!, c!]) {
      expect(hit.headers['x-ledger-signature']).toBe(
        `sha256=${createHmac('sha256', SECRET).update(hit.raw).digest('hex')}`,
      );
    }
    expect(b!.at - a!.at).toBeGreaterThanOrEqual(45); // 50 ms, then 100 ms
    expect(c!.at - b!.at).toBeGreaterThanOrEqual(95);
    const alert = JSON.parse(a!.raw) as { alertId: string; kind: string; severity: string };
    expect(alert).toMatchObject({ kind: 'dangerous_deviation', severity: 'critical' });

    const line = await within(5000, 'the dead-letter line', async () => {
      const text = await readFile(join(dataDir, 'alerts-dead-letter.jsonl'), 'utf8').catch(() => '');
      return text.split('\n').find((l) => l.includes(alert.alertId));
    });
    expect(JSON.parse(line)).toMatchObject({ sink: 'slack', attempts: 3, alert: { alertId: alert.alertId } });
    expect(slack.received).toHaveLength(3);
    expect(JSON.parse(slack.received[0]!.raw)).toEqual({ text: expect.stringContaining('dangerous_deviation') });

    const status = await t.http('GET', '/v1/reconciliation/status');
    expect(status.body).toMatchObject({
      processor: { enabled: true, alive: true },
      alerts: { sinks: ['sse', 'webhook', 'slack'], delivered: 2 /* sse + webhook */, deadLettered: 1 },
    });
  });

  it('given a webhook URL without a secret, then the configuration is refused, naming the variable; flags read true/false', async () => {
    expect(() => loadConfig({ alertWebhookUrl: 'http://127.0.0.1:9/' }, {})).toThrow(/LEDGER_ALERT_WEBHOOK_SECRET/);
    expect(() => loadConfig({}, { LEDGER_RECONCILIATION_ENABLED: 'maybe' })).toThrow(/LEDGER_RECONCILIATION_ENABLED/);
    expect(loadConfig({}, { LEDGER_RECONCILIATION_ENABLED: 'false' }).reconciliationEnabled).toBe(false);
    expect(loadConfig({}, { LEDGER_RECONCILIATION_ENABLED: 'true' }).reconciliationEnabled).toBe(true);
  });
});
