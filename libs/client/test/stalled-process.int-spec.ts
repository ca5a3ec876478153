import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { anApproval } from '../../../test/support/fixtures.js';
import { LedgerClient, silentLogger } from '../src/index.js';
import { LedgerOnPort } from './support/ledger-on-port.js';
import { SpoolDir } from './support/spool-dir.js';

/**
 * Forwards a TCP connection to the ledger; once the ledger's first reply is on its way to the client, the whole
 * process stops running for `stallMs` (what a long garbage collection or a starved CPU does).
 */
async function stallingProxy(ledgerPort: number, stallMs: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  };
  let stalled = false;
  const server: Server = createServer((client) => {
    const ledger = connect(ledgerPort, '127.0.0.1');
    track(client);
    track(ledger);
    client.pipe(ledger);
    ledger.on('data', (reply: Buffer) => {
      client.write(reply);
      if (stalled) return;
      stalled = true;
      const end = performance.now() + stallMs;
      while (performance.now() < end);
    });
    client.on('close', () => ledger.destroy());
    ledger.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('the client in a process that stops running while the ledger answers', () => {
  let ledger: LedgerOnPort;
  let dir: SpoolDir;
  beforeAll(async () => {
    ledger = await LedgerOnPort.create();
    await ledger.start();
    dir = new SpoolDir();
  });
  afterAll(async () => {
    await ledger?.dispose();
    dir?.remove();
  });

  it('given the reply arrives and the process then stalls past the request timeout, then the command is acknowledged, not spooled', async () => {
    const proxy = await stallingProxy(ledger.tcpPort, 4_000);
    const client = new LedgerClient({
      credential: ledger.gatewayKey,
      host: '127.0.0.1',
      port: proxy.port,
      requestTimeoutMs: 3_000,
      spoolDir: dir.path,
      backgroundDrain: false,
      logger: silentLogger,
    });
    try {
      expect(await client.grantApproval(anApproval())).toMatchObject({
        status: 'acknowledged',
        ack: { duplicate: false },
      });
    } finally {
      await client.close();
      await proxy.close();
    }
  });
});
