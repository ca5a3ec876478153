import { createHash } from 'node:crypto';
import { MESSAGE_PATTERNS, type CommandAck, type GrantApprovalRequest } from '@audit-ledger/domain';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startJwksServer, TEST_AUDIENCE, type JwksServer } from '../support/jwks-server.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';
import { storeFingerprint } from '../support/store-fingerprint.js';
import { within } from '../support/within.js';

/**
 * Issue 11 item 4: a grant may carry the approver's own signed assertion. Valid: `approvedBy` is its verified subject,
 * the event says `approverVerified: true` with the token's hash. Invalid: refused with the reason, nothing appended.
 * Over HTTP and TCP alike (the grant routes are reachable without a credential on this branch).
 */
const APPROVER_AUDIENCE = 'ledger-approvals';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface GrantedRow {
  type: string;
  data: Record<string, unknown>;
}

describe('approvers proven by their own signed assertion', () => {
  let idp: JwksServer;
  let t: LedgerUnderTest;

  beforeAll(async () => {
    idp = await startJwksServer();
    t = await startLedgerUnderTest({
      oidcIssuer: idp.issuer,
      oidcAudience: TEST_AUDIENCE,
      approverAudience: APPROVER_AUDIENCE,
      oidcClockToleranceSeconds: 0,
      // Reconciliation judges executions; its mismatches say whether the approval's approver was proven.
      reconciliationEnabled: true,
    });
  });
  afterAll(async () => {
    await t?.stop();
    await idp?.close();
  });

  const approverToken = (sub = 'alice-7f3', options: Parameters<JwksServer['sign']>[1] = {}) =>
    idp.sign({ sub, preferred_username: 'alice' }, { audience: APPROVER_AUDIENCE, ...options });

  const grantOver: Record<
    'HTTP' | 'TCP',
    (body: GrantApprovalRequest) => Promise<{ ack?: CommandAck; error?: unknown }>
  > = {
    HTTP: async (body) => {
      const reply = await t.http('POST', '/v1/approvals', body);
      return reply.status === 201
        ? { ack: reply.body as CommandAck }
        : { error: { status: reply.status, ...(reply.body as object) } };
    },
    TCP: (body) =>
      t.send<CommandAck>(MESSAGE_PATTERNS.grantApproval, body).then(
        (ack) => ({ ack }),
        (error: unknown) => ({ error }),
      ),
  };

  /** The commands' events (reconciliation appends its verdicts beside them whenever it gets to them). */
  const commandEvents = () =>
    t.sql(
      `SELECT count(*)::int AS count, max(global_position)::text AS last FROM ledger.events
        WHERE type IN ('ApprovalGranted', 'ApprovalRejected', 'ApprovalRevoked', 'ExecutionLogged')`,
    );

  const grantedEvent = async (approvalId: string) => {
    const rows = await t.sql<GrantedRow>('SELECT type, data FROM ledger.events WHERE stream_id = $1', [
      `approval-${approvalId}`,
    ]);
    return rows;
  };

  describe.each(['HTTP', 'TCP'] as const)('over %s', (transport) => {
    it('records the verified subject instead of a forged approvedBy, proven, with the hash of the token only', async () => {
      const assertion = await approverToken();
      const approval = anApproval({ approvedBy: 'mallory@example.com', approverAssertion: assertion });
      const { ack, error } = await grantOver[transport](approval);
      expect(error).toBeUndefined();
      expect(ack).toMatchObject({ duplicate: false });

      const rows = await grantedEvent(approval.approvalId);
      expect(rows).toHaveLength(1);
      expect(rows[0]!.data).toMatchObject({
        approvedBy: 'alice-7f3',
        approverVerified: true,
        approverAssertionHash: sha256(assertion),
      });
      expect(JSON.stringify(rows[0]!.data)).not.toContain(assertion);
      expect(JSON.stringify(rows[0]!.data)).not.toContain('mallory');

      // The read model shows it, and the approvals query filters on it.
      const view = await t.http('GET', `/v1/approvals/${approval.approvalId}?minPosition=${ack!.globalPosition}`);
      expect(view.body).toMatchObject({
        approvedBy: 'alice-7f3',
        approverVerified: true,
        approverAssertionHash: sha256(assertion),
      });
      const [row] = await t.sql<{ approver_verified: boolean }>(
        'SELECT approver_verified FROM read_models.approvals WHERE approval_id = $1',
        [approval.approvalId],
      );
      expect(row!.approver_verified).toBe(true);
      const ids = async (verified: boolean) =>
        (
          (await t.http('GET', `/v1/approvals?approvalId=${approval.approvalId}&approverVerified=${verified}`))
            .body as {
            items: { approvalId: string }[];
          }
        ).items.map((item) => item.approvalId);
      expect(await ids(true)).toEqual([approval.approvalId]);
      expect(await ids(false)).toEqual([]);
    });

    it('records a grant without an assertion as claimed, unproven', async () => {
      const approval = anApproval({ approvedBy: 'bob@example.com' });
      const { ack } = await grantOver[transport](approval);
      const rows = await grantedEvent(approval.approvalId);
      expect(rows[0]!.data).toMatchObject({ approvedBy: 'bob@example.com', approverVerified: false });
      expect(rows[0]!.data).not.toHaveProperty('approverAssertionHash');
      const view = await t.http('GET', `/v1/approvals/${approval.approvalId}?minPosition=${ack!.globalPosition}`);
      expect(view.body).toMatchObject({
        approvedBy: 'bob@example.com',
        approverVerified: false,
        approverAssertionHash: null,
      });
    });

    it.each([
      [
        'an expired assertion',
        'expired',
        () =>
          approverToken('alice-7f3', {
            expiresAt: Math.floor(Date.now() / 1000) - 600,
            notBefore: Math.floor(Date.now() / 1000) - 900,
          }),
      ],
      ['a wrongly signed assertion', 'wrong_signature', () => approverToken('alice-7f3', { untrusted: true })],
      [
        'an assertion for another audience',
        'wrong_audience',
        () => approverToken('alice-7f3', { audience: TEST_AUDIENCE }),
      ],
      [
        'an assertion of another issuer',
        'wrong_issuer',
        () => approverToken('alice-7f3', { issuer: 'https://elsewhere.example' }),
      ],
      [
        'an assertion signed with an unpublished key',
        'unknown_key',
        () => approverToken('alice-7f3', { untrusted: true, kid: 'nobody' }),
      ],
    ])('refuses %s with the reason, appending nothing', async (_label, reason, token) => {
      const approval = anApproval({ approverAssertion: await token() });
      const before = await commandEvents();
      const { ack, error } = await grantOver[transport](approval);
      expect(ack).toBeUndefined();
      expect(error).toMatchObject({ error: { code: 'APPROVAL.APPROVER_PROOF_INVALID' } });
      if (transport === 'HTTP') expect(error).toMatchObject({ status: 400 });
      expect((error as { error: { message: string } }).error.message).toContain(reason);
      expect(await commandEvents()).toEqual(before);
      expect(await grantedEvent(approval.approvalId)).toEqual([]);
    });
  });

  it('answers a retry with the same or a fresh assertion of the same approver as a duplicate, and one without as a conflict', async () => {
    const approval = anApproval({ approverAssertion: await approverToken() });
    const { ack: first } = await grantOver.HTTP(approval);
    const { ack: same } = await grantOver.TCP(approval);
    const { ack: fresh } = await grantOver.HTTP({
      ...approval,
      approverAssertion: await approverToken('alice-7f3', { notBefore: Math.floor(Date.now() / 1000) - 1 }),
    });
    expect(same).toEqual({ ...first, duplicate: true });
    expect(fresh).toEqual({ ...first, duplicate: true });
    const { approverAssertion: _proof, ...unproven } = approval;
    const { error } = await grantOver.HTTP({ ...unproven, approvedBy: 'alice-7f3' });
    expect(error).toMatchObject({ status: 409, error: { code: 'EVENT_STORE.IDEMPOTENCY_CONFLICT' } });
    expect(await grantedEvent(approval.approvalId)).toHaveLength(1);
  });

  it('answers a retry carrying the assertion that was verified when recorded, expired since, from the record', async () => {
    const expiresAt = Math.floor(Date.now() / 1000) + 2;
    const approval = anApproval({ approverAssertion: await approverToken('alice-7f3', { expiresAt }) });
    const { ack: first } = await grantOver.HTTP(approval);
    expect(first).toMatchObject({ duplicate: false });
    while (Date.now() <= (expiresAt + 1) * 1000) await new Promise((resolve) => setTimeout(resolve, 200));

    const { ack: again } = await grantOver.TCP(approval);
    expect(again).toEqual({ ...first, duplicate: true });
    // Any other expired assertion is still refused.
    const { error } = await grantOver.TCP({ ...approval, approvalId: `${approval.approvalId}-other` });
    expect(error).toMatchObject({ error: { code: 'APPROVAL.APPROVER_PROOF_INVALID' } });
  });

  it("shows in the mismatches view whether the approval's approver was proven", async () => {
    const proven = anApproval({ approverAssertion: await approverToken('erin') });
    const unproven = anApproval({ approvedBy: 'frank' });
    for (const approval of [proven, unproven]) {
      await grantOver.TCP(approval);
      await t.send(
        MESSAGE_PATTERNS.logExecution,
        anExecution({ approvalId: approval.approvalId, command: 'docker compose down' }),
      );
    }
    const mismatchOf = (approvalId: string) =>
      within(20_000, `a mismatch of ${approvalId} in the read model`, async () => {
        const reply = await t.http('GET', `/v1/mismatches?approvalId=${approvalId}`);
        return (reply.body as { items: Record<string, unknown>[] }).items[0];
      });
    expect(await mismatchOf(proven.approvalId)).toMatchObject({ approvedBy: 'erin', approverVerified: true });
    expect(await mismatchOf(unproven.approvalId)).toMatchObject({ approvedBy: 'frank', approverVerified: false });
  });

  it('refuses an assertion bound to another approval (claim approval_id)', async () => {
    const approval = anApproval();
    const assertion = await idp.sign(
      { sub: 'alice-7f3', approval_id: 'A-some-other' },
      { audience: APPROVER_AUDIENCE },
    );
    const { error } = await grantOver.HTTP({ ...approval, approverAssertion: assertion });
    expect(error).toMatchObject({ status: 400, error: { code: 'APPROVAL.APPROVER_PROOF_INVALID' } });
    const bound = await idp.sign(
      { sub: 'alice-7f3', approval_id: approval.approvalId },
      { audience: APPROVER_AUDIENCE },
    );
    const { ack } = await grantOver.HTTP({ ...approval, approverAssertion: bound });
    expect(ack).toMatchObject({ duplicate: false });
  });
});

describe('LEDGER_REQUIRE_APPROVER_PROOF', () => {
  let idp: JwksServer;
  let t: LedgerUnderTest;

  beforeAll(async () => {
    idp = await startJwksServer();
    // The approver audience defaults to the OIDC audience.
    t = await startLedgerUnderTest({
      oidcIssuer: idp.issuer,
      oidcAudience: TEST_AUDIENCE,
      requireApproverProof: true,
      projectionsEnabled: false,
      checkpointsEnabled: false,
    });
  });
  afterAll(async () => {
    await t?.stop();
    await idp?.close();
  });

  it('refuses unproven grants over HTTP and TCP, appending nothing, and records proven ones', async () => {
    const before = (await storeFingerprint(t))['ledger.events'];
    const unproven = anApproval();
    const http = await t.http('POST', '/v1/approvals', unproven);
    expect(http).toMatchObject({ status: 400, body: { error: { code: 'APPROVAL.APPROVER_PROOF_REQUIRED' } } });
    const tcp = await t.send(MESSAGE_PATTERNS.grantApproval, unproven).catch((e: unknown) => e);
    expect(tcp).toMatchObject({ error: { code: 'APPROVAL.APPROVER_PROOF_REQUIRED' } });
    expect((await storeFingerprint(t))['ledger.events']).toBe(before);

    const { approvedBy: _claimed, ...withoutApprover } = anApproval();
    const proven = { ...withoutApprover, approverAssertion: await idp.sign({ sub: 'carol' }) };
    const reply = await t.http('POST', '/v1/approvals', proven);
    expect(reply.status).toBe(201);
    const [row] = await t.sql<GrantedRow>('SELECT type, data FROM ledger.events WHERE stream_id = $1', [
      `approval-${proven.approvalId}`,
    ]);
    expect(row!.data).toMatchObject({ approvedBy: 'carol', approverVerified: true });
  });
});
