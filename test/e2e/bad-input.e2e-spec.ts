import { MESSAGE_PATTERNS } from '@audit-ledger/domain';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';

describe('bad input gets a clear error and changes nothing', () => {
  let t: LedgerUnderTest;
  let countBefore: number;
  const count = async () => Number((await t.sql<{ n: string }>('SELECT count(*) AS n FROM ledger.events'))[0]!.n);

  beforeAll(async () => {
    t = await startLedgerUnderTest();
    await t.send(MESSAGE_PATTERNS.grantApproval, anApproval());
  });
  beforeEach(async () => {
    countBefore = await count();
  });
  afterEach(async () => {
    expect(await count()).toBe(countBefore);
  });
  afterAll(() => t.stop());

  const { workerId: _w, ...withoutWorker } = anExecution({ sessionId: 'S1' });
  it.each([
    ['a missing field', withoutWorker, 'workerId'],
    ['a wrong type', anExecution({ sessionId: 'S1', exitCode: 'zero' as unknown as number }), 'exitCode'],
    ['an oversized field', anExecution({ sessionId: 'S1', command: 'x'.repeat(70_000) }), 'command'],
    [
      'a malformed nested field',
      anExecution({ sessionId: 'S1', artifacts: [{ path: 'a', sha256: 'nope', bytes: 1 }] }),
      'artifacts.0.sha256',
    ],
    ['an unknown field', { ...anExecution({ sessionId: 'S1' }), surprise: true }, ''],
    ['neither approval nor session', anExecution(), 'approvalId'],
    ['both token forms', anExecution({ sessionId: 'S1', token: 't', tokenHash: 'a'.repeat(64) }), 'tokenHash'],
    ['time going backwards', anExecution({ sessionId: 'S1', finishedAt: '2026-11-23T09:00:00Z' }), 'finishedAt'],
    ['a local time without offset', anExecution({ sessionId: 'S1', startedAt: '2026-11-23T10:00:00' }), 'startedAt'],
    ['a stream-unsafe id', anExecution({ approvalId: 'A 1/..' }), 'approvalId'],
  ])('over TCP, %s is refused naming the field', async (_label, payload, field) => {
    const error = await t.send(MESSAGE_PATTERNS.logExecution, payload).catch((e: unknown) => e);
    expect(error).toMatchObject({ error: { code: 'VALIDATION.FAILED' } });
    const issues = (error as { error: { issues: { path: string; message: string }[] } }).error.issues;
    expect(issues.map((issue) => issue.path)).toContain(field);
    expect(issues.every((issue) => issue.message.length > 0)).toBe(true);
  });

  it('an approver assertion is refused by a ledger without an identity provider, and a malformed one names the field', async () => {
    const assertion = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';
    const http = await t.http('POST', '/v1/approvals', anApproval({ approverAssertion: assertion }));
    expect(http).toMatchObject({ status: 400, body: { error: { code: 'APPROVAL.APPROVER_PROOF_INVALID' } } });
    expect(JSON.stringify(http.body)).toContain('LEDGER_OIDC_ISSUER');
    const tcp = await t
      .send(MESSAGE_PATTERNS.grantApproval, anApproval({ approverAssertion: assertion }))
      .catch((e: unknown) => e);
    expect(tcp).toMatchObject({ error: { code: 'APPROVAL.APPROVER_PROOF_INVALID' } });

    const malformed = await t.http('POST', '/v1/approvals', anApproval({ approverAssertion: 'not a jwt' }));
    expect(malformed).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION.FAILED' } } });
    expect(JSON.stringify(malformed.body)).toContain('approverAssertion');
    const { approvedBy: _approvedBy, ...nobody } = anApproval();
    const unnamed = await t.http('POST', '/v1/approvals', nobody);
    expect(unnamed).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION.FAILED' } } });
    expect(JSON.stringify(unnamed.body)).toContain('approvedBy');
  });

  it('over TCP, an unknown message pattern is refused', async () => {
    const error = await t.send('executions.delete', { executionId: 'x' }).catch((e: unknown) => e);
    expect(JSON.stringify(error)).toMatch(/no matching message handler/i);
  });

  it('over HTTP, malformed JSON gets 400', async () => {
    const response = await t.http('POST', '/v1/executions', undefined, '{"executionId": "x",');
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { code: 'VALIDATION.MALFORMED_REQUEST' } });
  });

  it('over HTTP, a missing field gets 400 with its path and reason', async () => {
    const response = await t.http('POST', '/v1/approvals', { ...anApproval(), riskLevel: undefined });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { code: 'VALIDATION.FAILED', issues: [{ path: 'riskLevel' }] } });
  });

  it('over HTTP, a body naming another approval than the path is refused', async () => {
    const response = await t.http('POST', '/v1/approvals/A1/revoke', { approvalId: 'A2', by: 'bob', reason: 'r' });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { issues: [{ path: 'approvalId' }] } });
  });

  it('a contradicting decision is refused with a typed code', async () => {
    const approval = anApproval();
    await t.send(MESSAGE_PATTERNS.grantApproval, approval);
    countBefore = await count();
    const error = await t
      .send(MESSAGE_PATTERNS.rejectApproval, { approvalId: approval.approvalId, by: 'bob', reason: 'late' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ error: { code: 'APPROVAL.ALREADY_DECIDED' } });
  });
});
