import { MESSAGE_PATTERNS, type CommandAck } from '@audit-ledger/domain';
import { randomUUID } from 'node:crypto';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';
import { within } from '../support/within.js';
import { connectRaw, errorCode, retainedBytes, settlesWithin, type RawConnection } from '../support/raw-tcp.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** One `<length>#<json>` frame as Nest's client writes it (the length counts UTF-16 code units). */
function frame(value: unknown): string {
  const json = JSON.stringify(value);
  return `${json.length}#${json}`;
}

/** The gateway key of the ledger under test, sent as each request packet's `auth`. */
let credential = '';

function request(pattern: string, data: unknown, id: string = randomUUID()): string {
  return frame({ pattern, data, id, auth: credential });
}

async function eventCount(t: LedgerUnderTest): Promise<number> {
  const [row] = await t.sql<{ n: string }>('SELECT count(*) AS n FROM ledger.events');
  return Number(row!.n);
}

/** Sends a grant on a raw connection and returns its reply. */
async function grantOver(connection: RawConnection): Promise<CommandAck | undefined> {
  const id = randomUUID();
  await connection.write(request(MESSAGE_PATTERNS.grantApproval, anApproval(), id));
  const reply = await connection.nextReply((r) => r.id === id && r.response !== undefined);
  return reply?.response as CommandAck | undefined;
}

describe('TCP transport limits: frame size, shared buffer budget, connection cap, malformed frames', () => {
  const limits = {
    tcpMaxFrameBytes: 1 * MiB,
    tcpMaxBufferedBytes: 4 * MiB,
    tcpMaxConnections: 48,
    tcpIdleTimeoutMs: 60_000,
    tcpFrameTimeoutMs: 60_000,
  };
  let t: LedgerUnderTest;
  beforeAll(async () => {
    t = await startLedgerUnderTest({ ...limits, checkpointsEnabled: false });
    credential = t.credentials.gateway;
    await t.send(MESSAGE_PATTERNS.grantApproval, anApproval()); // the test client's own connection is open
  });
  afterAll(() => t?.stop());

  it('given a frame announcing 999,999,999 characters, then it is refused before buffering and closed, and memory does not grow by what is sent', async () => {
    const before = await retainedBytes();
    const connection = await connectRaw(t.ledger.tcpPort);
    await connection.write('999999999#');
    const chunk = Buffer.alloc(256 * KiB, 'x');
    for (let sent = 0; sent < 32 * MiB && !connection.isClosed(); sent += chunk.length) await connection.write(chunk);
    const reply = await connection.nextReply();
    const held = (await retainedBytes()) - before;

    expect(errorCode(reply)).toBe('TCP.FRAME_TOO_LARGE');
    expect(reply?.err).toMatchObject({
      error: { message: expect.stringContaining(`${limits.tcpMaxFrameBytes} bytes`) },
    });
    expect(await settlesWithin(connection.closed, 10_000)).toBe(true);
    expect(held).toBeLessThan(8 * MiB);
  });

  it('given a frame that grows past the maximum size, then it is refused when it crosses it', async () => {
    const connection = await connectRaw(t.ledger.tcpPort);
    // An announced length within the limit, but every character is a 3-byte one: the bytes exceed the maximum.
    await connection.write(`${limits.tcpMaxFrameBytes}#"`);
    const chunk = Buffer.from('€'.repeat(64 * KiB));
    for (let sent = 0; sent < 4 * MiB && !connection.isClosed(); sent += chunk.length) await connection.write(chunk);

    expect(errorCode(await connection.nextReply())).toBe('TCP.FRAME_TOO_LARGE');
    expect(await settlesWithin(connection.closed, 10_000)).toBe(true);
  });

  it('given 40 connections each buffering a big frame, then buffered memory stays within the budget, the rest are told the ledger is busy, and memory returns to its start once they leave', async () => {
    const before = await retainedBytes();
    const eventsBefore = await eventCount(t);
    const connections = await Promise.all(Array.from({ length: 40 }, () => connectRaw(t.ledger.tcpPort)));
    const body = Buffer.alloc(900 * KiB, 'x');
    try {
      await Promise.all(connections.map((c) => c.write(`${limits.tcpMaxFrameBytes}#"`).then(() => c.write(body))));
      const mostHeld = Math.floor(limits.tcpMaxBufferedBytes / body.length);
      const busy = await within(20_000, 'the connections beyond the budget told the ledger is busy', () => {
        const told = connections.filter((c) => errorCode(c.replies[0]) === 'TCP.BUSY');
        return told.length >= 40 - mostHeld ? told : undefined;
      });
      const whileHeld = (await retainedBytes()) - before;
      const stillOpen = connections.filter((c) => !c.isClosed() && c.replies.length === 0);

      expect(whileHeld).toBeLessThan(limits.tcpMaxBufferedBytes + 12 * MiB); // 40 × 900 KiB = 35 MiB without a budget
      expect(busy.length).toBeGreaterThanOrEqual(40 - mostHeld);
      expect(stillOpen.length).toBeLessThanOrEqual(mostHeld);
    } finally {
      for (const c of connections) c.destroy();
    }
    await Promise.all(connections.map((c) => c.closed));
    const fresh = await connectRaw(t.ledger.tcpPort);
    expect(await grantOver(fresh)).toMatchObject({ duplicate: false }); // the budget was given back
    fresh.destroy();
    expect((await retainedBytes()) - before).toBeLessThan(10 * MiB);
    expect(await eventCount(t)).toBe(eventsBefore + 1);
  });

  it('given the connection cap is reached, then further connections are refused and closed while existing ones keep working', async () => {
    const opened = await Promise.all(Array.from({ length: 60 }, () => connectRaw(t.ledger.tcpPort)));
    try {
      // Every connection sends a grant: an accepted one is served, one beyond the cap was refused when it connected.
      const outcomes = await Promise.all(
        opened.map(async (c) => {
          const id = randomUUID();
          await c.write(request(MESSAGE_PATTERNS.grantApproval, anApproval(), id));
          const reply = await c.nextReply((r) => r.id === id || errorCode(r) === 'TCP.TOO_MANY_CONNECTIONS');
          return reply?.id === id && reply.response !== undefined ? 'served' : errorCode(reply);
        }),
      );
      const refused = opened.filter((_, i) => outcomes[i] === 'TCP.TOO_MANY_CONNECTIONS');

      expect(outcomes.filter((o) => o !== 'served' && o !== 'TCP.TOO_MANY_CONNECTIONS')).toEqual([]);
      expect(refused.length).toBeGreaterThanOrEqual(60 - limits.tcpMaxConnections);
      expect(outcomes.filter((o) => o === 'served').length).toBeGreaterThan(0);
      expect(outcomes.filter((o) => o === 'served').length).toBeLessThan(limits.tcpMaxConnections); // + the client's
      expect(await Promise.all(refused.map((c) => settlesWithin(c.closed, 10_000)))).not.toContain(false);
      expect(await t.send(MESSAGE_PATTERNS.grantApproval, anApproval())).toMatchObject({ duplicate: false });
    } finally {
      for (const c of opened) c.destroy();
    }

    await Promise.all(opened.map((c) => c.closed));
    // Once the ledger has seen those connections close, a new one is served again.
    const served = await within(10_000, 'a new connection served after the others closed', async () => {
      const later = await connectRaw(t.ledger.tcpPort);
      const ack = await grantOver(later);
      later.destroy();
      return ack;
    });
    expect(served).toMatchObject({ duplicate: false });
  });

  const malformed: [string, string | Buffer][] = [
    ['a non-numeric length', 'abc#{}'],
    ['a negative length', `-5#${JSON.stringify({ pattern: 'approvals.grant', data: {}, id: 'x' })}`],
    ['no length before #', '#{}'],
    ['a length without # before the JSON', `12{"pattern":"approvals.grant"}`],
    ['a length of 0', '0#'],
    ['a length shorter than the JSON', `5#${JSON.stringify({ pattern: 'approvals.grant', data: {}, id: 'x' })}`],
    ['a length ending inside a character', Buffer.concat([Buffer.from('2#"'), Buffer.from('😀"')])],
    ['invalid UTF-8', Buffer.from([0x34, 0x23, 0x22, 0xff, 0xfe, 0x22])],
    ['invalid JSON', frame('x').replace('"x"', '{x}')],
    ['JSON that is not an object', frame([1, 2])],
    ['null', '4#null'],
    ['an object without an id (an event)', frame({ pattern: MESSAGE_PATTERNS.logExecution, data: anExecution() })],
    ['a numeric id', frame({ pattern: MESSAGE_PATTERNS.grantApproval, data: anApproval(), id: 7 })],
    ['no pattern', frame({ data: anApproval(), id: 'p1' })],
  ];

  it.each(malformed)(
    'given a frame with %s, then it is answered with an error and closed, and nothing is appended',
    async (_, bytes) => {
      const eventsBefore = await eventCount(t);
      const connection = await connectRaw(t.ledger.tcpPort);
      await connection.write(bytes);
      const reply = await connection.nextReply();

      expect(errorCode(reply)).toBe('TCP.MALFORMED_FRAME');
      expect(await settlesWithin(connection.closed, 10_000)).toBe(true);
      expect(await eventCount(t)).toBe(eventsBefore);
      expect(await t.send(MESSAGE_PATTERNS.grantApproval, anApproval())).toMatchObject({ duplicate: false });
    },
  );

  it('given pipelined frames, a valid request then a malformed one, then the first is served and the second refused', async () => {
    const connection = await connectRaw(t.ledger.tcpPort);
    const id = randomUUID();
    await connection.write(request(MESSAGE_PATTERNS.grantApproval, anApproval(), id) + 'x#');
    const refused = await connection.nextReply((r) => errorCode(r) === 'TCP.MALFORMED_FRAME');

    expect(refused).toBeDefined();
    expect(await settlesWithin(connection.closed, 10_000)).toBe(true);
    expect(connection.replies.find((r) => r.id === id)?.response).toMatchObject({ duplicate: false });
  });
});

describe('TCP transport deadlines: a frame must complete in time, idle connections are closed', () => {
  let t: LedgerUnderTest;
  beforeAll(async () => {
    t = await startLedgerUnderTest({ tcpFrameTimeoutMs: 1_000, tcpIdleTimeoutMs: 1_500, checkpointsEnabled: false });
    credential = t.credentials.gateway;
  });
  afterAll(() => t?.stop());

  it('given a connection trickling one byte of a frame every 200 ms, then the trickle does not keep it open: it is closed at the frame deadline', async () => {
    const connection = await connectRaw(t.ledger.tcpPort);
    const text = request(MESSAGE_PATTERNS.grantApproval, anApproval());
    let sent = 0;
    const trickle = setInterval(() => void connection.write(text.slice(sent, ++sent)), 200);
    try {
      const reply = await connection.nextReply(() => true, 20_000);
      expect(errorCode(reply)).toBe('TCP.FRAME_TIMEOUT');
      expect(await settlesWithin(connection.closed, 10_000)).toBe(true);
      expect(sent).toBeLessThan(text.length); // closed before the frame could complete
    } finally {
      clearInterval(trickle);
    }
  });

  it('given a frame shorter than its announced length, then the connection is answered and closed at the frame deadline', async () => {
    const connection = await connectRaw(t.ledger.tcpPort);
    await connection.write('100#{"pattern":"approvals.grant"');

    expect(errorCode(await connection.nextReply(() => true, 20_000))).toBe('TCP.FRAME_TIMEOUT');
    expect(await settlesWithin(connection.closed, 10_000)).toBe(true);
  });

  it('given a connection that sends nothing, then it is closed as idle', async () => {
    const connection = await connectRaw(t.ledger.tcpPort);

    expect(errorCode(await connection.nextReply(() => true, 20_000))).toBe('TCP.IDLE_TIMEOUT');
    expect(await settlesWithin(connection.closed, 10_000)).toBe(true);
  });

  it('given a client whose idle connection was closed, then its next command reconnects and is served', async () => {
    await t.send(MESSAGE_PATTERNS.grantApproval, anApproval());
    await new Promise((resolve) => setTimeout(resolve, 3_000));

    expect(await t.send(MESSAGE_PATTERNS.grantApproval, anApproval())).toMatchObject({ duplicate: false });
  });
});
