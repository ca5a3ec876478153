import { MESSAGE_PATTERNS, type CommandAck } from '@audit-ledger/domain';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningLedger } from '../../apps/ledger/src/index.js';
import type { EventRow } from '../support/event-rows.js';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startLedgerUnderTest, startTestLedger, type LedgerUnderTest } from '../support/ledger-app.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { within } from '../support/within.js';

const SECRET = 'webhook-secret-0123456789';

interface Alert {
  alertId: string;
  type: string;
  kind?: string;
  streamId: string;
  data: Record<string, unknown>;
}

const alertsOf = (receiver: WebhookReceiver) =>
  receiver.received.map((r) => ({ ...r, body: JSON.parse(r.raw) as Alert }));

describe('reconciliation processor and alerts, end to end', () => {
  let t: LedgerUnderTest;
  let receiver: WebhookReceiver;
  let dataDir: string;
  let second: RunningLedger | undefined;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    dataDir = await mkdtemp(join(tmpdir(), 'ledger-reconciliation-'));
    t = await startLedgerUnderTest({
      dataDir,
      reconciliationEnabled: true,
      reconciliationUnusedIntervalMs: 50,
      alertWebhookUrl: receiver.url,
      alertWebhookSecret: SECRET,
      alertBackoffMs: 10,
    });
  });
  afterAll(async () => {
    await second?.close();
    await t.stop();
    await receiver.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const eventsOf = (streamId: string) =>
    t.sql<EventRow>('SELECT * FROM ledger.events WHERE stream_id = $1 ORDER BY stream_revision', [streamId]);
  const verdictOf = (streamId: string, type: string, kind?: string, ms = 3000) =>
    within(ms, `${type} ${kind ?? ''} in ${streamId}`, async () =>
      (await eventsOf(streamId)).find((row) => row.type === type && (kind === undefined || row.data.kind === kind)),
    );
  const grant = async (overrides: Parameters<typeof anApproval>[0] = {}) => {
    const approval = anApproval(overrides);
    await t.send(MESSAGE_PATTERNS.grantApproval, approval);
    return approval.approvalId;
  };
  const log = (overrides: Parameters<typeof anExecution>[0]) =>
    t.send<CommandAck>(MESSAGE_PATTERNS.logExecution, anExecution(overrides));
  const nowIso = () => new Date().toISOString();

  let mismatch: EventRow;

  it('given an approval for `docker compose ps`, when `docker compose down` is logged, then within a second a MismatchDetected command_not_approved is in its stream, delivered signed to the webhook and to the SSE stream', async () => {
    const sse = await fetch(`http://127.0.0.1:${t.ledger.httpPort}/v1/alerts/stream`, { headers: t.headers() });
    expect(sse.headers.get('content-type')).toContain('text/event-stream');
    const reader = sse.body!.getReader();

    const approvalId = await grant();
    const ack = await log({ approvalId, command: 'docker compose down' });
    const streamId = `approval-${approvalId}`;
    mismatch = await verdictOf(streamId, 'MismatchDetected', 'command_not_approved', 1000);

    expect(mismatch.data).toMatchObject({
      mismatchId: mismatch.event_id,
      approvalId,
      kind: 'command_not_approved',
      approved: { commands: ['docker compose ps'] },
      executed: { command: 'docker compose down' },
      reconcilerVersion: expect.stringMatching(/^reconciler\//),
    });
    expect(mismatch.metadata).toMatchObject({ actor: 'process:reconciliation', causationId: ack.eventId });

    const delivered = await within(1000, 'webhook delivery', async () =>
      alertsOf(receiver).find((r) => r.body.alertId === mismatch.event_id),
    );
    const expected = `sha256=${createHmac('sha256', SECRET).update(delivered.raw).digest('hex')}`;
    expect(delivered.headers['x-ledger-signature']).toBe(expected);
    expect(delivered.body).toMatchObject({ type: 'MismatchDetected', kind: 'command_not_approved', streamId });

    let frames = '';
    const decoder = new TextDecoder();
    while (!frames.includes(mismatch.event_id)) {
      const { value, done } = await reader.read();
      if (done) break;
      frames += decoder.decode(value, { stream: true });
    }
    expect(frames).toContain(`id: ${mismatch.event_id}\nevent: MismatchDetected\n`);
    await reader.cancel();
  });

  it('given an approval for `docker compose ps`, when exactly that is logged, then ExecutionReconciled MATCH and no alert', async () => {
    const approvalId = await grant();
    const ack = await log({ approvalId, command: 'docker compose  ps' });
    const row = await verdictOf(`approval-${approvalId}`, 'ExecutionReconciled');
    expect(row.data).toMatchObject({ verdict: 'MATCH' });
    expect(row.metadata).toMatchObject({ causationId: ack.eventId });
    expect(alertsOf(receiver).some((r) => r.body.streamId === `approval-${approvalId}`)).toBe(false);
  });

  describe('lifecycle kinds', () => {
    it('no_approval: an execution under an approval id that was never granted', async () => {
      const approvalId = `A-unknown-${randomUUID()}`;
      await log({ approvalId });
      await verdictOf(`approval-${approvalId}`, 'MismatchDetected', 'no_approval');
    });

    it('approval_rejected: an execution under a rejected approval', async () => {
      const approvalId = `A-rej-${randomUUID()}`;
      await t.send(MESSAGE_PATTERNS.rejectApproval, { approvalId, by: 'bob', reason: 'no' });
      await log({ approvalId });
      await verdictOf(`approval-${approvalId}`, 'MismatchDetected', 'approval_rejected');
    });

    it('approval_expired: an execution that started after the approval expired', async () => {
      const approvalId = await grant({ expiresAt: '2020-01-01T00:00:00Z' });
      await log({ approvalId });
      await verdictOf(`approval-${approvalId}`, 'MismatchDetected', 'approval_expired');
    });

    it('approval_revoked: an execution that started after the revocation', async () => {
      const approvalId = await grant();
      await t.send(MESSAGE_PATTERNS.revokeApproval, { approvalId, by: 'bob', reason: 'oops' });
      await log({ approvalId, startedAt: nowIso(), finishedAt: nowIso() });
      await verdictOf(`approval-${approvalId}`, 'MismatchDetected', 'approval_revoked');
    });

    it('max_executions_exceeded: the third execution of an approval for two', async () => {
      const approvalId = await grant({ maxExecutions: 2 });
      for (let i = 0; i < 3; i++) await log({ approvalId });
      const rows = await within(3000, 'three verdicts', async () => {
        const all = await eventsOf(`approval-${approvalId}`);
        const verdicts = all.filter((row) => row.type === 'ExecutionReconciled' || row.type === 'MismatchDetected');
        return verdicts.length === 3 ? verdicts : undefined;
      });
      expect(rows.map((row) => row.data.kind ?? row.data.verdict)).toEqual([
        'MATCH',
        'MATCH',
        'max_executions_exceeded',
      ]);
    });

    it('token_replay: the single-use token of an approval presented by a second execution', async () => {
      const approvalId = await grant({ token: 'single-use-token' });
      const first = randomUUID();
      await log({ approvalId, executionId: first, token: 'single-use-token' });
      await log({ approvalId, token: 'single-use-token' });
      const row = await verdictOf(`approval-${approvalId}`, 'MismatchDetected', 'token_replay');
      expect(String(row.data.explanation)).toContain(first);
    });

    it('approval_unused: an approval that expires with nothing run under it', async () => {
      const approvalId = await grant({ expiresAt: new Date(Date.now() + 200).toISOString() });
      const row = await verdictOf(`approval-${approvalId}`, 'MismatchDetected', 'approval_unused');
      expect(row.data).toMatchObject({ approvalId, severity: 'low' });
      await within(1000, 'approval_unused alert', async () =>
        alertsOf(receiver).find((r) => r.body.alertId === row.event_id),
      );
    });
  });

  describe('POST /v1/mismatches/:mismatchId/review', () => {
    const review = (body: Record<string, unknown>, id = mismatch.event_id) =>
      t.http('POST', `/v1/mismatches/${id}/review`, body);

    it('records MismatchReviewed in the mismatch stream, reviewed by the principal; a retry returns the original; a different review is 409', async () => {
      const body = {
        streamId: mismatch.stream_id,
        reviewer: 'sec@example.com',
        resolution: 'confirmed',
        note: 'ran down on prod',
      };
      const first = await review(body);
      expect(first).toMatchObject({ status: 201, body: { streamId: mismatch.stream_id, duplicate: false } });
      expect(await review(body)).toEqual({ status: 201, body: { ...(first.body as object), duplicate: true } });
      expect(await review({ ...body, resolution: 'false_positive' })).toMatchObject({
        status: 409,
        body: {
          error: {
            code: 'MISMATCH.ALREADY_REVIEWED',
            details: {
              idempotencyKey: mismatch.event_id,
              eventId: (first.body as { eventId: string }).eventId,
              stored: { globalPosition: (first.body as { globalPosition: string }).globalPosition },
              differences: ['resolution'],
            },
          },
        },
      });
      const rows = await eventsOf(mismatch.stream_id);
      // The reviewer is the authenticated principal: the body's `reviewer` claims nothing.
      const reviews = rows.filter((row) => row.type === 'MismatchReviewed');
      expect(reviews.map((row) => row.data)).toEqual([
        expect.objectContaining({
          mismatchId: mismatch.event_id,
          resolution: 'confirmed',
          reviewer: t.credentials.actors.all,
        }),
      ]);
      expect(reviews[0]!.metadata).toMatchObject({ actor: t.credentials.actors.all });
    });

    it('answers 404 for a mismatch that is not in the named stream, and 400 naming each bad field', async () => {
      expect(
        await review({ streamId: mismatch.stream_id, reviewer: 'sec', resolution: 'confirmed' }, randomUUID()),
      ).toMatchObject({ status: 404, body: { error: { code: 'MISMATCH.NOT_FOUND' } } });
      const bad = await review({ streamId: 'other-x', reviewer: '', resolution: 'maybe' });
      expect(bad.status).toBe(400);
      const paths = (bad.body as { error: { issues: { path: string }[] } }).error.issues.map((i) => i.path);
      expect(paths).toEqual(expect.arrayContaining(['streamId', 'reviewer', 'resolution']));
    });
  });

  it('given everything reconciled, when a new ledger replays the subscription from position 0, then nothing new is appended or alerted', async () => {
    const status = async () =>
      fetch(`http://127.0.0.1:${(second ?? t.ledger).httpPort}/v1/reconciliation/status`, {
        headers: t.headers(), // the same database, so the same keys
      }).then((r) => r.json() as Promise<{ processor: { position: string; handled: number; alive: boolean } }>);
    const lastHandled = async () => {
      const [row] = await t.sql<{ last: string }>(
        `SELECT max(global_position)::text AS last FROM ledger.events
         WHERE type IN ('ApprovalGranted', 'ApprovalRejected', 'ApprovalRevoked', 'ExecutionLogged')`,
      );
      return BigInt(row!.last);
    };
    const last = await lastHandled();
    await within(3000, 'the first processor to handle every event', async () =>
      BigInt((await status()).processor.position) >= last ? true : undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 200)); // let the last verdicts and alerts land
    const before = await t.sql<{ n: string }>('SELECT count(*)::text AS n FROM ledger.events');
    const alertsBefore = receiver.received.length;

    await t.ledger.close();
    await t.sql('TRUNCATE ledger_process.checkpoints, ledger_process.pending_expiries');
    second = await startTestLedger(t.database.url, {
      dataDir,
      reconciliationEnabled: true,
      reconciliationUnusedIntervalMs: 50,
      alertWebhookUrl: receiver.url,
      alertWebhookSecret: SECRET,
    });
    const replayed = await within(5000, 'the replay to pass the last execution', async () => {
      const s = await status();
      return BigInt(s.processor.position) >= BigInt(last) ? s : undefined;
    });
    expect(replayed.processor).toMatchObject({ alive: true });
    expect(replayed.processor.handled).toBeGreaterThan(10);
    await new Promise((resolve) => setTimeout(resolve, 300)); // and the unused-approval timer ticks a few times
    expect(await t.sql<{ n: string }>('SELECT count(*)::text AS n FROM ledger.events')).toEqual(before);
    expect(receiver.received.length).toBe(alertsBefore);
  });
});
