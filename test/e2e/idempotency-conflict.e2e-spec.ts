import { createHash } from 'node:crypto';
import { MESSAGE_PATTERNS, type CommandAck } from '@audit-ledger/domain';
import { PostgresEventStore, type AppendResult } from '@audit-ledger/event-store';
import type { ClientProxy } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { anApproval, anExecution } from '../support/fixtures.js';
import { natsClientAs, startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';
import { reachable } from '../support/reachable.js';

// Finding 6 of issue 10: a reused idempotency key with other content was answered `duplicate: true` and dropped; the
// same execution id under another approval or session was appended as a second execution the read model hid.

const silent = { warn: () => undefined, error: () => undefined };

/** Polls (no fixed sleeps) until the probe returns something. */
async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The event id of an ExecutionLogged as ledgers before the stream-independent id derived it (event-ids.ts). */
function oldExecutionEventId(streamId: string, executionId: string): string {
  const bytes = createHash('sha256').update([streamId, 'ExecutionLogged', executionId].join('\u0000')).digest();
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const conflictOf = (key: string, ack: CommandAck, differences: string[]) => ({
  error: {
    code: 'EVENT_STORE.IDEMPOTENCY_CONFLICT',
    message: expect.stringContaining(ack.globalPosition) as unknown,
    details: {
      idempotencyKey: key,
      eventId: ack.eventId,
      stored: { eventId: ack.eventId, streamId: ack.streamId, globalPosition: ack.globalPosition },
      differences,
    },
  },
});

describe('idempotency conflicts over HTTP and TCP', () => {
  let t: LedgerUnderTest;
  beforeAll(async () => {
    t = await startLedgerUnderTest();
  });
  afterAll(() => t.stop());

  const countOf = async (streamId: string) =>
    (await t.sql('SELECT 1 FROM ledger.events WHERE stream_id = $1', [streamId])).length;

  /** Appends an ExecutionLogged through the store as ledgers before the stream-independent id did (old id formula). */
  async function appendAsOlderLedger(
    streamId: string,
    data: Record<string, unknown>,
    metadata: Record<string, unknown>,
  ): Promise<AppendResult> {
    const eventId = oldExecutionEventId(streamId, String(data['executionId']));
    const store = await PostgresEventStore.connect({ connectionString: t.database.url, poolSize: 1, logger: silent });
    try {
      const event = { eventId, type: 'ExecutionLogged', data, metadata: { ...metadata, causationId: eventId } };
      return await store.appendToStream(streamId, [event]);
    } finally {
      await store.close();
    }
  }

  it('given a logged execution, when its id comes back with another command, then HTTP answers 409 and TCP the same error, naming both ids and the fields, and nothing is appended', async () => {
    const approval = anApproval();
    await t.send(MESSAGE_PATTERNS.grantApproval, approval);
    const execution = anExecution({ approvalId: approval.approvalId });
    const ack = await t.send<CommandAck>(MESSAGE_PATTERNS.logExecution, execution);
    const reused = { ...execution, command: 'rm -rf /var/lib/docker', exitCode: 137 };

    const overHttp = await t.http('POST', '/v1/executions', reused);
    const overTcp = await t.send(MESSAGE_PATTERNS.logExecution, reused).catch((error: unknown) => error);

    expect(overHttp.status).toBe(409);
    expect(overHttp.body).toMatchObject(conflictOf(execution.executionId, ack, ['command', 'exitCode']));
    expect(overTcp).toEqual(overHttp.body);
    expect(await countOf(ack.streamId)).toBe(2);
  });

  it('given a logged execution, when the same request is retried on the other transport by another actor, then it is a duplicate with the original acknowledgement', async () => {
    const execution = anExecution({ sessionId: `s-${crypto.randomUUID()}` });
    const ack = await t.send<CommandAck>(MESSAGE_PATTERNS.logExecution, execution);
    const retried = await t.http('POST', '/v1/executions', execution);
    expect(retried).toEqual({ status: 201, body: { ...ack, duplicate: true } });
    // an output that was cut the first time is compared by its digest: same output, same execution
    const long = anExecution({ sessionId: `s-${crypto.randomUUID()}`, output: 'y'.repeat(70_000) });
    const first = await t.send<CommandAck>(MESSAGE_PATTERNS.logExecution, long);
    expect(await t.send(MESSAGE_PATTERNS.logExecution, long)).toEqual({ ...first, duplicate: true });
    const otherOutput = await t.http('POST', '/v1/executions', { ...long, output: `${'y'.repeat(69_999)}z` });
    expect(otherOutput.body).toMatchObject(conflictOf(long.executionId, first, ['output.sha256']));
  });

  it('given a logged execution, when its id comes back under another approval or a session, then HTTP and TCP answer 409 naming the stored execution, its stream and what differs, nothing is appended, and the original retried is still a duplicate', async () => {
    // given an execution logged under approval A
    const [first, second] = [anApproval(), anApproval()];
    await t.send(MESSAGE_PATTERNS.grantApproval, first);
    await t.send(MESSAGE_PATTERNS.grantApproval, second);
    const execution = anExecution({ approvalId: first.approvalId });
    const ack = await t.send<CommandAck>(MESSAGE_PATTERNS.logExecution, execution);

    // when the same execution id comes back under approval B (same command), over HTTP and over TCP
    const underB = { ...execution, approvalId: second.approvalId };
    const overHttp = await t.http('POST', '/v1/executions', underB);
    const overTcp = await t.send(MESSAGE_PATTERNS.logExecution, underB).catch((error: unknown) => error);
    // and under a session
    const underSession = { ...execution, approvalId: undefined, sessionId: `s-${crypto.randomUUID()}` };
    const sessionOverTcp = await t.send(MESSAGE_PATTERNS.logExecution, underSession).catch((e: unknown) => e);

    // then each is a conflict naming the key, the stored event's id, stream and position, and what differs
    expect(overHttp.status).toBe(409);
    expect(overHttp.body).toMatchObject(conflictOf(execution.executionId, ack, ['streamId', 'approvalId']));
    expect(overTcp).toEqual(overHttp.body);
    expect(sessionOverTcp).toMatchObject(
      conflictOf(execution.executionId, ack, ['streamId', 'approvalId', 'sessionId']),
    );
    // nothing is appended anywhere, and the read model holds the one execution
    expect(await countOf(`approval-${second.approvalId}`)).toBe(1);
    expect(await countOf(`session-${underSession.sessionId}`)).toBe(0);
    expect(
      await t.sql('SELECT event_id FROM ledger.events WHERE type = $1 AND data->>$2 = $3', [
        'ExecutionLogged',
        'executionId',
        execution.executionId,
      ]),
    ).toEqual([{ event_id: ack.eventId }]);
    // a genuine retry of the original stays a duplicate with the original acknowledgement, on both transports
    expect(await t.http('POST', '/v1/executions', execution)).toEqual({
      status: 201,
      body: { ...ack, duplicate: true },
    });
    expect(await t.send(MESSAGE_PATTERNS.logExecution, execution)).toEqual({ ...ack, duplicate: true });
  });

  it('given an execution recorded under the old stream-dependent event id (before the upgrade), when it is retried, then it is a duplicate with its original acknowledgement, and other content is a 409 naming it', async () => {
    // given an execution stored as the older ledger did: its event id derived from (stream, type, execution id)
    const approval = anApproval();
    await t.send(MESSAGE_PATTERNS.grantApproval, approval);
    const streamId = `approval-${approval.approvalId}`;
    const template = anExecution({ approvalId: approval.approvalId });
    await t.send(MESSAGE_PATTERNS.logExecution, template);
    const [row] = await t.sql<{ data: Record<string, unknown>; metadata: Record<string, unknown> }>(
      'SELECT data, metadata FROM ledger.events WHERE stream_id = $1 AND type = $2',
      [streamId, 'ExecutionLogged'],
    );
    const request = { ...template, executionId: crypto.randomUUID() };
    const legacyId = oldExecutionEventId(streamId, request.executionId);
    const stored = await appendAsOlderLedger(
      streamId,
      { ...row!.data, executionId: request.executionId },
      row!.metadata,
    );
    const original = { eventId: legacyId, streamId, globalPosition: stored.lastPosition.toString() };

    // when the same request is retried over TCP and HTTP after the upgrade
    const overTcp = await t.send<CommandAck>(MESSAGE_PATTERNS.logExecution, request);
    const overHttp = await t.http('POST', '/v1/executions', request);

    // then both are duplicates answered with the stored event, and nothing is appended
    expect(overTcp).toMatchObject({ ...original, duplicate: true });
    expect(overHttp).toEqual({ status: 201, body: overTcp });
    expect(await countOf(streamId)).toBe(3);
    // and the same id with another command is a conflict naming the stored (old) event
    const changed = await t.http('POST', '/v1/executions', { ...request, command: 'rm -rf /' });
    expect(changed.status).toBe(409);
    expect(changed.body).toMatchObject(conflictOf(request.executionId, overTcp, ['command']));
    expect(await countOf(streamId)).toBe(3);
  });

  it('given a second execution stored under a used execution id by an older ledger (another approval), then the executions read model parks it instead of hiding it, and keeps the first', async () => {
    // given an execution logged under approval A, and the same id stored under approval B as older ledgers allowed
    const execution = anExecution({ approvalId: `A-${crypto.randomUUID()}` });
    const ack = await t.send<CommandAck>(MESSAGE_PATTERNS.logExecution, execution);
    const [row] = await t.sql<{ data: Record<string, unknown>; metadata: Record<string, unknown> }>(
      'SELECT data, metadata FROM ledger.events WHERE event_id = $1',
      [ack.eventId],
    );
    const otherStream = `approval-B-${crypto.randomUUID()}`;
    const second = await appendAsOlderLedger(
      otherStream,
      { ...row!.data, approvalId: otherStream.slice(9) },
      row!.metadata,
    );

    // then the second is parked by the executions projection, naming both positions, and the first stays
    const parked = await eventually(async () => {
      const rows = await t.sql<{ event_id: string; error: string }>(
        `SELECT event_id, error FROM read_models.parked_events WHERE projection = 'executions' AND position = $1`,
        [second.lastPosition.toString()],
      );
      return rows[0];
    });
    expect(parked.event_id).toBe(second.events[0]!.eventId);
    expect(parked.error).toContain(`already held by the execution at global position ${ack.globalPosition}`);
    expect(
      await t.sql('SELECT stream_id FROM read_models.executions WHERE execution_id = $1', [execution.executionId]),
    ).toEqual([{ stream_id: ack.streamId }]);
  });

  it('given decided approvals, when a grant, reject or revoke is retried with other content, then 409 names the approval and the fields; the same content stays a duplicate', async () => {
    const granted = anApproval();
    const grantAck = await t.send<CommandAck>(MESSAGE_PATTERNS.grantApproval, granted);
    const regrant = await t.http('POST', '/v1/approvals', { ...granted, riskLevel: 'destructive' });
    expect(regrant.status).toBe(409);
    expect(regrant.body).toMatchObject(conflictOf(granted.approvalId, grantAck, ['riskLevel']));

    const revoke = { approvalId: granted.approvalId, by: 'bob', reason: 'mistake' };
    const revokeAck = await t.send<CommandAck>(MESSAGE_PATTERNS.revokeApproval, revoke);
    expect(await t.send(MESSAGE_PATTERNS.revokeApproval, revoke)).toEqual({ ...revokeAck, duplicate: true });
    const otherRevoke = await t.send(MESSAGE_PATTERNS.revokeApproval, { ...revoke, reason: 'other' }).catch((e) => e);
    expect(otherRevoke).toMatchObject(conflictOf(granted.approvalId, revokeAck, ['reason']));
    // a grant retried after the revoke is still the same grant
    expect(await t.send(MESSAGE_PATTERNS.grantApproval, granted)).toEqual({ ...grantAck, duplicate: true });

    const rejected = anApproval();
    const reject = { approvalId: rejected.approvalId, by: 'carol', reason: 'too risky' };
    const rejectAck = await t.send<CommandAck>(MESSAGE_PATTERNS.rejectApproval, reject);
    const otherReject = await t.http('POST', `/v1/approvals/${rejected.approvalId}/reject`, { ...reject, by: 'dave' });
    expect(otherReject.status).toBe(409);
    expect(otherReject.body).toMatchObject(conflictOf(rejected.approvalId, rejectAck, ['by']));
    expect(await t.http('POST', `/v1/approvals/${rejected.approvalId}/reject`, reject)).toEqual({
      status: 201,
      body: { ...rejectAck, duplicate: true },
    });

    expect(await countOf(grantAck.streamId)).toBe(2);
    expect(await countOf(rejectAck.streamId)).toBe(1);
  });
});

const natsUrl = process.env.LEDGER_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const nats = new URL(natsUrl);
const natsAvailable = await reachable(nats.hostname, Number(nats.port));
if (!natsAvailable)
  process.stderr.write(`[skip] idempotency conflict over NATS: no NATS server answers at ${natsUrl}\n`);

(natsAvailable ? describe : describe.skip)('idempotency conflicts over NATS', () => {
  let t: LedgerUnderTest;
  let client: ClientProxy;
  beforeAll(async () => {
    t = await startLedgerUnderTest({ transport: 'nats', natsUrl });
    client = natsClientAs(natsUrl, t.credentials.all);
    await client.connect();
  });
  afterAll(async () => {
    await client.close();
    await t.stop();
  });

  it('answers a reused execution id under another stream with the same conflict as HTTP', async () => {
    const execution = anExecution({ sessionId: `s-${crypto.randomUUID()}` });
    const ack = await firstValueFrom(client.send<CommandAck>(MESSAGE_PATTERNS.logExecution, execution));
    const elsewhere = { ...execution, sessionId: `s-${crypto.randomUUID()}` };
    const error = await firstValueFrom(client.send(MESSAGE_PATTERNS.logExecution, elsewhere)).catch((e: unknown) => e);
    expect(error).toMatchObject(conflictOf(execution.executionId, ack, ['streamId', 'sessionId']));
    expect(error).toEqual((await t.http('POST', '/v1/executions', elsewhere)).body);
  });

  it('answers a reused execution id with other content with the same error as HTTP', async () => {
    const execution = anExecution({ sessionId: `s-${crypto.randomUUID()}` });
    const ack = await firstValueFrom(client.send<CommandAck>(MESSAGE_PATTERNS.logExecution, execution));
    const reused = { ...execution, workerId: 'w2' };
    const error = await firstValueFrom(client.send(MESSAGE_PATTERNS.logExecution, reused)).catch((e: unknown) => e);
    expect(error).toMatchObject(conflictOf(execution.executionId, ack, ['workerId']));
    expect(error).toEqual((await t.http('POST', '/v1/executions', reused)).body);
  });
});
