import { MESSAGE_PATTERNS, type CommandAck } from '@audit-ledger/domain';
import { verifyChain } from '@audit-ledger/integrity';
import { toChained, type EventRow } from '../support/event-rows.js';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';

describe('command path over the TCP transport', () => {
  let t: LedgerUnderTest;
  beforeAll(async () => {
    t = await startLedgerUnderTest();
  });
  afterAll(() => t.stop());

  const eventsOf = (streamId: string) =>
    t.sql<EventRow>('SELECT * FROM ledger.events WHERE stream_id = $1 ORDER BY stream_revision', [streamId]);

  it('given a granted approval, when an execution is logged, then both are in its stream, hash-chained, and acknowledged durably', async () => {
    const approval = anApproval();
    const grantAck = await t.send<CommandAck>(MESSAGE_PATTERNS.grantApproval, approval);
    const execution = anExecution({ approvalId: approval.approvalId, token: 'raw-token-1' });
    const execAck = await t.send<CommandAck>(MESSAGE_PATTERNS.logExecution, execution);

    const streamId = `approval-${approval.approvalId}`;
    expect(grantAck).toMatchObject({ streamId, streamRevision: 0, duplicate: false });
    expect(execAck).toMatchObject({ streamId, streamRevision: 1, duplicate: false });
    expect(BigInt(execAck.globalPosition)).toBeGreaterThan(BigInt(grantAck.globalPosition));

    const rows = await eventsOf(streamId);
    expect(rows.map((row) => row.type)).toEqual(['ApprovalGranted', 'ExecutionLogged']);
    expect(rows[1]).toMatchObject({ event_id: execAck.eventId, hash: execAck.hash, prev_hash: grantAck.hash });
    expect(rows[1]!.data).toMatchObject({
      executionId: execution.executionId,
      command: 'docker compose ps',
      exitCode: 0,
      durationMs: 1250,
      output: { truncated: false, bytes: Buffer.byteLength(String(execution.output)) },
    });
    expect(rows[1]!.data.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(rows[1]!.data)).not.toContain('raw-token-1');
    expect(rows[1]!.metadata).toMatchObject({
      actor: t.credentials.actors.all, // the authenticated principal, not a transport's label
      schemaVersion: 1,
      correlationId: approval.approvalId,
    });
    expect(verifyChain(rows.map(toChained))).toBeNull();
  });

  it('given an acknowledged command, when it is retried with the same id, then nothing is appended and the first reply comes back', async () => {
    const approval = anApproval();
    const first = await t.send<CommandAck>(MESSAGE_PATTERNS.grantApproval, approval);
    const again = await t.send<CommandAck>(MESSAGE_PATTERNS.grantApproval, approval);
    const execution = anExecution({ approvalId: approval.approvalId });
    const logged = await t.send<CommandAck>(MESSAGE_PATTERNS.logExecution, execution);
    const loggedAgain = await t.send<CommandAck>(MESSAGE_PATTERNS.logExecution, execution);

    expect(again).toEqual({ ...first, duplicate: true });
    expect(loggedAgain).toEqual({ ...logged, duplicate: true });
    expect(await eventsOf(`approval-${approval.approvalId}`)).toHaveLength(2);
  });

  it.each([
    ['an unknown approval', async () => `A-unknown-${Date.now()}`],
    [
      'a rejected approval',
      async () => {
        const id = `A-rej-${Date.now()}`;
        await t.send(MESSAGE_PATTERNS.rejectApproval, { approvalId: id, by: 'bob', reason: 'no' });
        return id;
      },
    ],
    [
      'an expired approval',
      async () => {
        const approval = anApproval({ expiresAt: '2020-01-01T00:00:00Z' });
        await t.send(MESSAGE_PATTERNS.grantApproval, approval);
        return approval.approvalId;
      },
    ],
    [
      'a revoked approval',
      async () => {
        const approval = anApproval();
        await t.send(MESSAGE_PATTERNS.grantApproval, approval);
        await t.send(MESSAGE_PATTERNS.revokeApproval, { approvalId: approval.approvalId, by: 'bob', reason: 'oops' });
        return approval.approvalId;
      },
    ],
  ])('given %s, when an execution is logged, then it is recorded, not refused', async (_label, arrange) => {
    const approvalId = await arrange();
    const ack = await t.send<CommandAck>(MESSAGE_PATTERNS.logExecution, anExecution({ approvalId }));
    const rows = await eventsOf(`approval-${approvalId}`);
    expect(rows.at(-1)).toMatchObject({ type: 'ExecutionLogged', event_id: ack.eventId });
  });

  it('given an execution that needed no approval, when it is logged with a session id, then it goes to the session stream', async () => {
    const ack = await t.send<CommandAck>(MESSAGE_PATTERNS.logExecution, anExecution({ sessionId: 'S-42' }));
    expect(ack.streamId).toBe('session-S-42');
  });

  it('given an output over the cap, then it is stored truncated with the full digest and size', async () => {
    const output = 'x'.repeat(100_000);
    const ack = await t.send<CommandAck>(MESSAGE_PATTERNS.logExecution, anExecution({ sessionId: 'S-big', output }));
    const [row] = await t.sql<{ data: { output: { text: string; truncated: boolean; bytes: number } } }>(
      'SELECT data FROM ledger.events WHERE event_id = $1',
      [ack.eventId],
    );
    expect(row!.data.output).toMatchObject({ truncated: true, bytes: 100_000 });
    // stored encrypted (docs/security.md, "Payload encryption"); read back opened, cut at the cap
    expect(row!.data.output.text).toMatch(/^enc:v1:/);
    const { body } = await t.http('GET', `/v1/streams/${ack.streamId}`);
    const [event] = (body as { events: { data: { output: { text: string } } }[] }).events;
    expect(event!.data.output.text).toHaveLength(64 * 1024);
  });

  it('given 8 concurrent callers, when they send 1,000 executions for 50 approvals, then each is stored exactly once, in per-stream order, with valid hash links', async () => {
    const approvals = Array.from({ length: 50 }, () => anApproval());
    await Promise.all(approvals.map((approval) => t.send(MESSAGE_PATTERNS.grantApproval, approval)));
    const executions = Array.from({ length: 1000 }, (_, i) =>
      anExecution({ approvalId: approvals[i % 50]!.approvalId, command: `echo ${i}` }),
    );
    const acks: CommandAck[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async (_, caller) => {
        for (let i = caller; i < executions.length; i += 8) {
          acks.push(await t.send<CommandAck>(MESSAGE_PATTERNS.logExecution, executions[i]));
        }
      }),
    );

    expect(acks).toHaveLength(1000);
    const rows = await t.sql<EventRow>(
      `SELECT * FROM ledger.events WHERE stream_id = ANY($1) ORDER BY stream_id, stream_revision`,
      [approvals.map((approval) => `approval-${approval.approvalId}`)],
    );
    const logged = rows.filter((row) => row.type === 'ExecutionLogged').map((row) => row.data.executionId);
    expect(logged).toHaveLength(1000);
    expect(new Set(logged)).toEqual(new Set(executions.map((execution) => execution.executionId)));
    for (const approval of approvals) {
      const stream = rows.filter((row) => row.stream_id === `approval-${approval.approvalId}`);
      expect(stream).toHaveLength(21);
      expect(verifyChain(stream.map(toChained))).toBeNull();
    }
    const positions = await t.sql<{ ordered: boolean }>(
      `SELECT bool_and(ordered) AS ordered FROM (
         SELECT global_position > lag(global_position, 1, 0::bigint) OVER (PARTITION BY stream_id ORDER BY stream_revision) AS ordered
         FROM ledger.events) t`,
    );
    expect(positions[0]!.ordered).toBe(true);
  });
});
