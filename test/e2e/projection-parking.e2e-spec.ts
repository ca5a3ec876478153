import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLedgerBin } from '../../apps/cli/test/support/run-bin.js';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startLedgerUnderTest, TEST_PAYLOAD_MASTER_KEY, type LedgerUnderTest } from '../support/ledger-app.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { within } from '../support/within.js';

const SECRET = 'parking-alerts-secret-0123';

interface ParkedAlert {
  alertId: string;
  type: string;
  kind: string;
  streamId: string;
  globalPosition: string;
  summary: string;
  data: { projection: string; position: string; eventId: string; eventType: string; streamId: string; error: string };
}

interface Health {
  status: string;
  projections: { parked: Record<string, number>; projections: { name: string; state: string; parked: number }[] };
}

/**
 * Issue 10 finding 1 (the read side): no single stored event stops a projection for good. Events the executions
 * projection cannot apply are stored behind the ledger's back (as a database superuser, bypassing its validation):
 * the projection parks them and carries on, /health says so and stays 200, and `ledger projections retry-parked`
 * applies them after a fix. Each park is alerted: a signed webhook and the SSE stream name the event.
 */
describe('a projection parks an event it cannot apply and carries on', () => {
  let t: LedgerUnderTest;
  let workDir: string;
  let webhook: WebhookReceiver;
  let slack: WebhookReceiver;
  let sse: { text: () => string; close: () => void };
  const url = (path: string) => `http://127.0.0.1:${t.ledger.httpPort}${path}`;
  const health = async () => {
    const response = await fetch(url('/health'));
    return { status: response.status, body: (await response.json()) as Health };
  };
  const logged = async (execution: ReturnType<typeof anExecution>) => {
    const response = await t.http('POST', '/v1/executions', execution);
    expect(response.status).toBe(201);
    return (response.body as { globalPosition: string }).globalPosition;
  };
  const queryable = async (executionId: string, minPosition: string) =>
    (await fetch(url(`/v1/executions/${executionId}?minPosition=${minPosition}`), { headers: t.headers() })).status;

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'ledger-parking-'));
    webhook = await startWebhookReceiver();
    slack = await startWebhookReceiver();
    t = await startLedgerUnderTest({
      checkpointsEnabled: false,
      reconciliationEnabled: true,
      alertWebhookUrl: webhook.url,
      alertWebhookSecret: SECRET,
      alertSlackUrl: slack.url,
    });
    sse = await listen(url('/v1/alerts/stream'), t.headers());
  });
  afterAll(async () => {
    sse?.close();
    await t?.stop();
    await webhook?.close();
    await slack?.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('parks a lone surrogate stored as a superuser, and an event a read-model constraint refuses; retry applies the fixed one', async () => {
    // given an approved execution, copied as a superuser with a lone surrogate in its command (the poison of finding
    // 1): an unapproved command, so the reconciler records a mismatch that quotes it
    const approval = anApproval({ approvalId: 'A-poison', approvedCommands: ['docker compose ps'] });
    expect((await t.http('POST', '/v1/approvals', approval)).status).toBe(201);
    const template = anExecution({ approvalId: 'A-poison' });
    await logged(template);
    const [row] = await t.sql<{ data: string; metadata: string }>(
      `SELECT data::text AS data, metadata::text AS metadata FROM ledger.events
        WHERE type = 'ExecutionLogged' AND data->>'executionId' = $1`,
      [template.executionId],
    );
    const poisonId = randomUUID();
    const poisonEventId = randomUUID();
    const poisonData = row!.data
      .replace(template.executionId, poisonId)
      .replace('"docker compose ps"', '"rm -rf \\ud800"');
    await within(10_000, 'the template execution to be reconciled', async () => {
      const rows = await t.sql(
        `SELECT 1 FROM ledger.events WHERE stream_id = 'approval-A-poison' AND stream_revision = 2`,
      );
      return rows.length > 0 ? true : undefined;
    });
    await t.sql(
      `INSERT INTO ledger.events (event_id, stream_id, stream_revision, type, data, metadata, prev_hash, hash)
       VALUES ($1, 'approval-A-poison', 3, 'ExecutionLogged', $2::json, $3::json, repeat('0', 64), repeat('0', 64))`,
      [poisonEventId, poisonData, row!.metadata],
    );
    // and a read-model constraint (an operator's mistake, fixed later) that refuses one command
    await t.sql(
      `ALTER TABLE read_models.executions ADD CONSTRAINT no_forbidden CHECK (command <> 'forbidden-for-now')`,
    );
    const refused = anExecution({ sessionId: 'S-refused', command: 'forbidden-for-now' });
    await logged(refused);

    // when executions keep arriving
    const later = anExecution({ sessionId: 'S-later' });
    const laterPosition = await logged(later);

    // then the later one is queryable (the projection went past both), and /health is 200 with 2 parked
    expect(await queryable(later.executionId, laterPosition)).toBe(200);
    const { status, body } = await within(10_000, '/health to count the parked events', async () => {
      const current = await health();
      return current.body.projections.parked['executions'] === 2 ? current : undefined;
    });
    expect(status).toBe(200);
    expect(body.projections.projections.find((p) => p.name === 'executions')).toMatchObject({ parked: 2 });
    const parked = await t.sql<{ projection: string; error: string }>(
      `SELECT projection, error FROM read_models.parked_events WHERE projection = 'executions' ORDER BY position`,
    );
    expect(parked).toEqual([
      { projection: 'executions', error: expect.any(String) },
      { projection: 'executions', error: expect.stringContaining('no_forbidden') },
    ]);
    expect(await queryable(refused.executionId, laterPosition)).toBe(404);

    // and each park was alerted: the webhook received a signed ProjectionEventParked alert naming the event
    const parkedAlerts = await within(10_000, 'two parked-event alerts at the webhook', async () => {
      const hits = webhook.received.filter((hit) => hit.raw.includes('"ProjectionEventParked"'));
      return hits.length >= 2 ? hits : undefined;
    });
    for (const hit of parkedAlerts) {
      expect(hit.headers['x-ledger-signature']).toBe(
        `sha256=${createHmac('sha256', SECRET).update(hit.raw).digest('hex')}`,
      );
    }
    const [poisonAlert, refusedAlert] = parkedAlerts.map((hit) => JSON.parse(hit.raw) as ParkedAlert);
    expect(poisonAlert).toMatchObject({
      alertId: `parked:executions:${poisonAlert!.data.position}`,
      type: 'ProjectionEventParked',
      kind: 'projection.event_parked',
      streamId: 'approval-A-poison',
      globalPosition: poisonAlert!.data.position,
      summary: expect.stringContaining('retry-parked executions'),
      data: {
        projection: 'executions',
        eventId: poisonEventId,
        eventType: 'ExecutionLogged',
        streamId: 'approval-A-poison',
        error: expect.any(String),
      },
    });
    expect(parkedAlerts[0]!.headers['x-ledger-alert-id']).toBe(poisonAlert!.alertId);
    expect(refusedAlert).toMatchObject({
      type: 'ProjectionEventParked',
      data: { projection: 'executions', eventType: 'ExecutionLogged', error: expect.stringContaining('no_forbidden') },
    });
    // and Slack got a line naming the projection, the event and the way out
    await within(5000, 'the parked alert on Slack', async () =>
      slack.received.some((hit) =>
        (JSON.parse(hit.raw) as { text: string }).text.includes(
          `projection executions cannot apply ExecutionLogged ${poisonEventId} at position ${poisonAlert!.data.position}`,
        ),
      )
        ? true
        : undefined,
    );
    // and the dashboards' stream carried the same alerts, as `ProjectionEventParked` events
    await within(5000, 'the parked alerts on the SSE stream', async () =>
      sse.text().includes(`id: ${poisonAlert!.alertId}\nevent: ProjectionEventParked\n`) &&
      sse.text().includes(`id: ${refusedAlert!.alertId}\nevent: ProjectionEventParked\n`)
        ? true
        : undefined,
    );

    // when the constraint is fixed and the operator retries the parked events
    await t.sql(`ALTER TABLE read_models.executions DROP CONSTRAINT no_forbidden`);
    const retry = await runLedgerBin(['projections', 'retry-parked', 'executions', '--json'], {
      cwd: workDir,
      env: { DATABASE_URL: t.database.url, LEDGER_PAYLOAD_MASTER_KEY: TEST_PAYLOAD_MASTER_KEY },
    });

    // then the fixed one is applied and no longer parked; the poison stays parked, reported (exit 1)
    expect(retry.code).toBe(1);
    const [result] = JSON.parse(retry.stdout) as { projection: string; retried: number; applied: number }[];
    expect(result).toMatchObject({ projection: 'executions', retried: 2, applied: 1 });
    expect(await queryable(refused.executionId, laterPosition)).toBe(200);
    await within(15_000, '/health to count what is still parked', async () =>
      (await health()).body.projections.parked['executions'] === 1 ? true : undefined,
    );

    // and the projection keeps going past what is still parked
    const afterRetry = anExecution({ sessionId: 'S-after' });
    const afterPosition = await logged(afterRetry);
    expect(await queryable(afterRetry.executionId, afterPosition)).toBe(200);

    // and a rebuild from position 0 does not stop at the poison either: it parks it too, says so, swaps, and alerts it
    // on the webhook the environment configures
    const alertsBeforeRebuild = webhook.received.length;
    const rebuild = await runLedgerBin(['projections', 'rebuild', 'executions'], {
      cwd: workDir,
      env: {
        DATABASE_URL: t.database.url,
        LEDGER_DATA_DIR: workDir,
        LEDGER_PAYLOAD_MASTER_KEY: TEST_PAYLOAD_MASTER_KEY,
        LEDGER_ALERT_WEBHOOK_URL: webhook.url,
        LEDGER_ALERT_WEBHOOK_SECRET: SECRET,
      },
    });
    expect({ code: rebuild.code, stderr: rebuild.stderr }).toEqual({ code: 0, stderr: '' });
    expect(rebuild.stdout).toContain(
      `parked ExecutionLogged ${poisonEventId} at position ${poisonAlert!.data.position}`,
    );
    const rebuildAlerts = webhook.received
      .slice(alertsBeforeRebuild)
      .map((hit) => JSON.parse(hit.raw) as ParkedAlert)
      .filter((alert) => alert.type === 'ProjectionEventParked');
    expect(rebuildAlerts).toEqual([
      expect.objectContaining({
        alertId: poisonAlert!.alertId,
        data: expect.objectContaining({ eventId: poisonEventId }),
      }),
    ]);
    const parkedAfterRebuild = await t.sql<{ event_type: string }>(
      `SELECT event_type FROM read_models.parked_events WHERE projection = 'executions'`,
    );
    expect(parkedAfterRebuild).toEqual([{ event_type: 'ExecutionLogged' }]);
    for (const execution of [template, refused, later, afterRetry]) {
      expect(await queryable(execution.executionId, afterPosition)).toBe(200);
    }

    // and the reconciliation processor, which read the poison too, recorded its mismatch (quoting the command with
    // U+FFFD) and is alive: /health is 200
    const [mismatch] = await t.sql<{ executed: string }>(
      `SELECT data::text AS executed FROM ledger.events WHERE stream_id = 'approval-A-poison' AND type = 'MismatchDetected'`,
    );
    expect(mismatch?.executed).toContain('rm -rf \ufffd');
    expect((await health()).status).toBe(200);
  });
});

/** Reads a server-sent event stream into a string until closed. */
async function listen(
  streamUrl: string,
  headers: Record<string, string>,
): Promise<{ text: () => string; close: () => void }> {
  const abort = new AbortController();
  const response = await fetch(streamUrl, { signal: abort.signal, headers });
  let text = '';
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of response.body!) text += decoder.decode(chunk as Uint8Array, { stream: true });
  })().catch(() => undefined);
  return { text: () => text, close: () => abort.abort() };
}
