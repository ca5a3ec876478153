import { MESSAGE_PATTERNS, type CommandAck } from '@audit-ledger/domain';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { ClientProxy } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { anApproval } from '../support/fixtures.js';
import { natsClientAs, startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';
import { reachable } from '../support/reachable.js';

const natsUrl = process.env.LEDGER_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const { hostname, port } = new URL(natsUrl);
const natsAvailable = await reachable(hostname, Number(port));
if (!natsAvailable) process.stderr.write(`[skip] NATS limits e2e: no NATS server answers at ${natsUrl}\n`);

(natsAvailable ? describe : describe.skip)('NATS transport: malformed and oversized messages', () => {
  let t: LedgerUnderTest;
  let raw: NatsConnection;
  let nats: ClientProxy;
  beforeAll(async () => {
    t = await startLedgerUnderTest({ transport: 'nats', natsUrl, checkpointsEnabled: false });
    raw = await connect({ servers: [natsUrl] });
    nats = natsClientAs(natsUrl, t.credentials.all);
    await nats.connect();
  });
  afterAll(async () => {
    await nats?.close();
    await raw?.close();
    await t?.stop();
  });

  const events = async () => (await t.sql<{ n: string }>('SELECT count(*) AS n FROM ledger.events'))[0]!.n;

  it('given a request on a ledger subject that is not JSON, then it is answered with an error and nothing is appended', async () => {
    const before = await events();
    for (const payload of ['not json', '{"pattern":', new Uint8Array([0xff, 0xfe, 0x00]), 'x'.repeat(900 * 1024)]) {
      const reply = await raw.request(MESSAGE_PATTERNS.logExecution, payload, { timeout: 5_000 });

      expect(reply.json()).toMatchObject({ err: { error: { code: 'NATS.MALFORMED_MESSAGE' } } });
    }
    expect(await events()).toBe(before);
  });

  it('given a message over the server maximum payload, then it never reaches the ledger, which keeps serving', async () => {
    const before = await events();
    const tooBig = new Uint8Array(raw.info!.max_payload + 1);
    expect(() => raw.publish(MESSAGE_PATTERNS.logExecution, tooBig)).toThrow(/payload/i);

    const ack = await firstValueFrom(nats.send<CommandAck>(MESSAGE_PATTERNS.grantApproval, anApproval()));
    expect(ack).toMatchObject({ duplicate: false });
    expect(Number(await events())).toBe(Number(before) + 1);
  });
});
