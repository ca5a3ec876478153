import { MESSAGE_PATTERNS } from '@audit-ledger/domain';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';
import { anApproval } from '../support/fixtures.js';

/**
 * Issue 11 item 8: per-principal rate limits. The limit here is one request a second with a burst of three, so a
 * principal's fourth request in a row is refused while another principal's requests still pass.
 */
describe('per-principal rate limits', () => {
  let t: LedgerUnderTest;

  beforeAll(async () => {
    t = await startLedgerUnderTest({ rateLimitPerSecond: 0.01, rateLimitBurst: 3 });
  });

  afterAll(async () => {
    await t?.stop();
  });

  it('refuses a principal over its burst with 429 AUTH.RATE_LIMITED, and leaves other principals alone', async () => {
    // given a reader that has used its burst
    const reader = { credential: t.credentials.reader };
    for (let i = 0; i < 3; i++)
      expect((await t.http('GET', '/v1/approvals', undefined, undefined, reader)).status).toBe(200);

    // when it asks once more
    const refused = await t.http('GET', '/v1/approvals', undefined, undefined, reader);

    // then it is refused with the retry hint, and another principal is still served
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ error: { code: 'AUTH.RATE_LIMITED' } });
    expect((refused.body as { error: { message: string } }).error.message).toContain(t.credentials.actors.reader);
    expect(
      (await t.http('GET', '/v1/approvals', undefined, undefined, { credential: t.credentials.security })).status,
    ).toBe(200);
  });

  it('limits message patterns too, refusing before anything is appended', async () => {
    // given a gateway that has used its burst over TCP
    const gateway = { credential: t.credentials.gateway };
    for (let i = 0; i < 3; i++)
      await t.send(MESSAGE_PATTERNS.grantApproval, anApproval({ approvalId: `rl-${i}` }), gateway);

    // when it sends one more grant
    const refused = await t.send(MESSAGE_PATTERNS.grantApproval, anApproval({ approvalId: 'rl-over' }), gateway).then(
      () => undefined,
      (error: unknown) => error,
    );

    // then it is refused and the approval was not recorded
    expect(refused).toMatchObject({ error: { code: 'AUTH.RATE_LIMITED' } });
    expect(await t.sql(`SELECT 1 FROM ledger.events WHERE stream_id = 'approval-rl-over'`)).toHaveLength(0);
  });

  it('counts rate-limit refusals with the other refusals in /health', async () => {
    const health = await t.http('GET', '/health');
    expect(health.body).toMatchObject({ accessRefusals: { 'AUTH.RATE_LIMITED': { http: 1, tcp: 1 } } });
  });
});
