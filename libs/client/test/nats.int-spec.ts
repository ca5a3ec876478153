import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { anExecution } from '../../../test/support/fixtures.js';
import { LedgerClient, silentLogger } from '../src/index.js';
import { LedgerOnPort } from './support/ledger-on-port.js';
import { SpoolDir } from './support/spool-dir.js';

const natsUrl = process.env.LEDGER_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const natsAvailable = await answers(new URL(natsUrl));
if (!natsAvailable) console.warn(`[skip] client over NATS: no NATS server answers at ${natsUrl}`);

(natsAvailable ? describe : describe.skip)('the client over the NATS transport', () => {
  let ledger: LedgerOnPort;
  let dir: SpoolDir;
  let client: LedgerClient;
  beforeAll(async () => {
    ledger = await LedgerOnPort.create();
    dir = new SpoolDir();
    client = new LedgerClient({
      credential: ledger.gatewayKey,
      transport: 'nats',
      servers: [natsUrl],
      requestTimeoutMs: 300,
      spoolDir: dir.path,
      backgroundDrain: false,
      logger: silentLogger,
    });
  });
  afterAll(async () => {
    await client.close();
    await ledger.dispose();
    dir.remove();
  });

  it('given no ledger behind NATS, when an execution is logged, then it is spooled; when the ledger subscribes, then the drain records it', async () => {
    const approvalId = `A-${randomUUID()}`;
    const execution = anExecution({ approvalId });

    expect(await client.logExecution(execution)).toEqual({ status: 'spooled', spoolSeq: 1 });

    await ledger.start({ transport: 'nats', natsUrl });
    expect(await client.drainSpool()).toEqual({ sent: 1, rejected: 0, conflicts: 0, remaining: 0 });
    expect(await ledger.executionIdsIn(`approval-${approvalId}`)).toEqual([execution.executionId]);
    expect(await client.logExecution(anExecution({ approvalId }))).toMatchObject({
      status: 'acknowledged',
      ack: { streamRevision: 1 },
    });
  });
});

function answers(url: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
