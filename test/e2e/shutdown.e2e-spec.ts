import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { startLedgerUnderTest } from '../support/ledger-app.js';

/** A raw HTTP client that sends `request` and then never reads: the server cannot finish with it on its own. */
async function stuckClient(port: number, request: string): Promise<{ socket: Socket; closed: Promise<unknown> }> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  socket.on('error', () => undefined); // a reset is one way to be cut off
  socket.write(request);
  socket.pause();
  return { socket, closed: once(socket, 'close') };
}

describe('stopping the ledger while HTTP clients hold connections', () => {
  it('closes their connections after the drain time instead of waiting for them', async () => {
    // Given a ledger with a short drain time
    const t = await startLedgerUnderTest({ httpDrainMs: 300 });
    const port = t.ledger.httpPort;
    // and a client that sent half a request, and one that stopped reading a large response (the Swagger UI bundle)
    const halfRequest = await stuckClient(port, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const unread = await stuckClient(port, 'GET /docs/swagger-ui-bundle.js HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');

    // When the ledger stops
    await t.stop();

    // Then it has cut both connections itself (each would otherwise hold the server open for a minute or more)
    for (const client of [halfRequest, unread]) client.socket.resume();
    await expect(Promise.all([halfRequest.closed, unread.closed])).resolves.toBeDefined();
    // and it answers no more requests
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  }, 30_000);
});
