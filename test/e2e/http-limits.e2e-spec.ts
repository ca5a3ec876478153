import { connect, type Socket } from 'node:net';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';
import { settlesWithin } from '../support/raw-tcp.js';
import { within } from '../support/within.js';

interface RawHttp {
  socket: Socket;
  received: () => string;
  closed: Promise<void>;
}

async function openHttp(port: number): Promise<RawHttp> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received: () => received, closed };
}

/** Writes `text` one byte every `everyMs` until the connection closes or the text is sent; returns the bytes sent. */
function trickle(connection: RawHttp, text: string, everyMs: number): { stop: () => void; sent: () => number } {
  let sent = 0;
  const timer = setInterval(() => {
    if (sent >= text.length || connection.socket.destroyed) return;
    connection.socket.write(text.slice(sent, ++sent));
  }, everyMs);
  return { stop: () => clearInterval(timer), sent: () => sent };
}

describe('HTTP connection limits: no connection is held forever', () => {
  let t: LedgerUnderTest;
  beforeAll(async () => {
    t = await startLedgerUnderTest({
      httpHeadersTimeoutMs: 1_000,
      httpRequestTimeoutMs: 2_000,
      httpKeepAliveTimeoutMs: 500,
      httpIdleTimeoutMs: 3_000,
    });
  });
  afterAll(() => t?.stop());

  it('given a client trickling its request headers, then the connection is closed at the headers deadline', async () => {
    const connection = await openHttp(t.ledger.httpPort);
    const headers = 'GET /health HTTP/1.1\r\nHost: ledger\r\n' + 'X-Slow: ' + 'a'.repeat(500) + '\r\n\r\n';
    const slow = trickle(connection, headers, 100);
    try {
      expect(await settlesWithin(connection.closed, 20_000)).toBe(true);
      expect(slow.sent()).toBeLessThan(headers.length);
    } finally {
      slow.stop();
    }
  });

  it('given a client trickling its request body, then the connection is closed at the request deadline', async () => {
    const connection = await openHttp(t.ledger.httpPort);
    const body = JSON.stringify({ approvalId: 'slow-1', instruction: 'x'.repeat(400) });
    connection.socket.write(
      `POST /v1/approvals HTTP/1.1\r\nHost: ledger\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    const slow = trickle(connection, body, 100);
    try {
      expect(await settlesWithin(connection.closed, 20_000)).toBe(true);
      expect(slow.sent()).toBeLessThan(body.length);
      const rows = await t.sql('SELECT 1 FROM ledger.events WHERE stream_id = $1', ['approval-slow-1']);
      expect(rows).toHaveLength(0);
    } finally {
      slow.stop();
    }
  });

  it('given a keep-alive connection left idle after its response, then it is closed', async () => {
    const connection = await openHttp(t.ledger.httpPort);
    connection.socket.write('GET /health HTTP/1.1\r\nHost: ledger\r\n\r\n');

    expect(await settlesWithin(connection.closed, 20_000)).toBe(true);
    expect(connection.received()).toMatch(/^HTTP\/1\.1 (200|503)/);
  });

  it('given a connection that never sends a byte, then it is closed', async () => {
    const connection = await openHttp(t.ledger.httpPort);

    expect(await settlesWithin(connection.closed, 20_000)).toBe(true);
  });
});

describe('HTTP connection cap', () => {
  let t: LedgerUnderTest;
  beforeAll(async () => {
    t = await startLedgerUnderTest({ httpMaxConnections: 20 });
  });
  afterAll(() => t?.stop());

  it('given the connection cap is reached, then further connections are closed and the existing ones are served', async () => {
    const held = await Promise.all(Array.from({ length: 25 }, () => openHttp(t.ledger.httpPort)));
    const closed = new Set<RawHttp>();
    for (const c of held) void c.closed.then(() => closed.add(c));
    await within(10_000, 'the connections beyond the cap closed', () => (closed.size >= 5 ? true : undefined));
    const open = held.filter((c) => !closed.has(c));

    expect(open.length).toBeLessThanOrEqual(20);
    open[0]!.socket.write('GET /health HTTP/1.1\r\nHost: ledger\r\nConnection: close\r\n\r\n');
    await settlesWithin(open[0]!.closed, 10_000);
    expect(open[0]!.received()).toMatch(/^HTTP\/1\.1 (200|503)/);
    for (const c of held) c.socket.destroy();
  });
});
