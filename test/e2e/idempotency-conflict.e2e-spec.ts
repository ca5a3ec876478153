import { MESSAGE_PATTERNS, type CommandAck } from '@audit-ledger/domain';
import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';
import { reachable } from '../support/reachable.js';

// Finding 6 of issue 10: a reused idempotency key with other content was answered `duplicate: true` and dropped.

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
    client = ClientProxyFactory.create({ transport: Transport.NATS, options: { servers: [natsUrl] } });
    await client.connect();
  });
  afterAll(async () => {
    await client.close();
    await t.stop();
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
