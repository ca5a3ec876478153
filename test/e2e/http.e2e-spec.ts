import type { CommandAck } from '@audit-ledger/domain';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';

describe('the same commands over HTTP, for gateways in other languages', () => {
  let t: LedgerUnderTest;
  beforeAll(async () => {
    t = await startLedgerUnderTest();
  });
  afterAll(() => t.stop());

  it('grants, logs, revokes, rejects and reads back a stream with hashes', async () => {
    const approval = anApproval();
    const granted = await t.http('POST', '/v1/approvals', approval);
    expect(granted).toMatchObject({ status: 201, body: { streamRevision: 0, duplicate: false } });
    const logged = await t.http('POST', '/v1/executions', anExecution({ approvalId: approval.approvalId }));
    expect(logged).toMatchObject({ status: 201, body: { streamRevision: 1 } });
    const revoked = await t.http('POST', `/v1/approvals/${approval.approvalId}/revoke`, { by: 'bob', reason: 'done' });
    expect(revoked).toMatchObject({ status: 201, body: { streamRevision: 2 } });
    const rejected = await t.http('POST', '/v1/approvals/A-never/reject', { by: 'bob', reason: 'no' });
    expect(rejected).toMatchObject({ status: 201, body: { streamId: 'approval-A-never' } });

    const read = await t.http('GET', `/v1/streams/approval-${approval.approvalId}`);
    expect(read.status).toBe(200);
    const events = (read.body as { events: { type: string; hash: string; prevHash: string }[] }).events;
    expect(events.map((event) => event.type)).toEqual(['ApprovalGranted', 'ExecutionLogged', 'ApprovalRevoked']);
    expect(events[2]!.prevHash).toBe(events[1]!.hash);
    expect(events[2]!.hash).toBe((revoked.body as CommandAck).hash);
  });

  it('answers 404 with a code for a stream that does not exist', async () => {
    const read = await t.http('GET', '/v1/streams/approval-nope');
    expect(read).toMatchObject({ status: 404, body: { error: { code: 'EVENT_STORE.STREAM_NOT_FOUND' } } });
  });

  it('reports health: database, migrations and the live subscription', async () => {
    const health = await t.http('GET', '/health');
    expect(health).toMatchObject({
      status: 200,
      body: { status: 'ok', database: 'reachable', subscription: { alive: true } },
    });
    expect((health.body as { migrationsApplied: number }).migrationsApplied).toBeGreaterThan(0);
  });
});
