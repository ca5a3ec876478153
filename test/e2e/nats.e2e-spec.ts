import { MESSAGE_PATTERNS, type CommandAck } from '@audit-ledger/domain';
import type { ClientProxy } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { anApproval, anExecution } from '../support/fixtures.js';
import { natsClientAs, startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';
import { reachable } from '../support/reachable.js';

const natsUrl = process.env.LEDGER_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const { hostname, port } = new URL(natsUrl);
const natsAvailable = await reachable(hostname, Number(port));
// stderr, not console: Jest drops the console output of a file whose tests are all skipped.
if (!natsAvailable) process.stderr.write(`[skip] NATS transport e2e: no NATS server answers at ${natsUrl}\n`);

(natsAvailable ? describe : describe.skip)('command path over the NATS transport', () => {
  let t: LedgerUnderTest;
  let nats: ClientProxy;
  beforeAll(async () => {
    t = await startLedgerUnderTest({ transport: 'nats', natsUrl });
    nats = natsClientAs(natsUrl, t.credentials.all);
    await nats.connect();
  });
  afterAll(async () => {
    await nats.close();
    await t.stop();
  });

  it('given a NATS-connected gateway, when it grants and logs, then both are acknowledged and stored', async () => {
    const approval = anApproval();
    const grant = await firstValueFrom(nats.send<CommandAck>(MESSAGE_PATTERNS.grantApproval, approval));
    const logged = await firstValueFrom(
      nats.send<CommandAck>(MESSAGE_PATTERNS.logExecution, anExecution({ approvalId: approval.approvalId })),
    );
    expect(grant.streamRevision).toBe(0);
    expect(logged).toMatchObject({ streamId: `approval-${approval.approvalId}`, streamRevision: 1, duplicate: false });
    const rows = await t.sql('SELECT event_id FROM ledger.events WHERE stream_id = $1', [grant.streamId]);
    expect(rows).toHaveLength(2);
  });

  it('refuses bad input over NATS with the field path', async () => {
    const error = await firstValueFrom(nats.send(MESSAGE_PATTERNS.logExecution, { executionId: 'x' })).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ error: { code: 'VALIDATION.FAILED' } });
  });
});
