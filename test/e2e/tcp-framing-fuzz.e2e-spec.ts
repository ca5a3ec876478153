import { MESSAGE_PATTERNS } from '@audit-ledger/domain';
import fc from 'fast-check';
import { anApproval } from '../support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';
import { connectRaw, errorCode, retainedBytes, settlesWithin, type ReplyPacket } from '../support/raw-tcp.js';

const KiB = 1024;
const MAX_FRAME = 64 * KiB;
const PATTERNS: readonly string[] = Object.values(MESSAGE_PATTERNS);
/** Generated frames: at least 10,000, sent 8 at a time (each on a connection of its own). */
const RUNS = 1_250;
const PER_RUN = 8;

/**
 * What the ledger must do with a generated input:
 * - `refused`: a complete frame that is not a request packet: a `TCP.*` error reply, then the ledger closes;
 * - `answered`: a request packet the ledger cannot serve (unknown pattern, bad payload): an error reply to its id;
 * - `incomplete`: bytes that do not complete a frame (random, truncated): after the client's FIN the connection is
 *   closed, and whatever came back is an error.
 */
type Expectation = 'refused' | 'answered' | 'incomplete';
interface BadInput {
  bytes: Buffer;
  expect: Expectation;
  /** For `refused`: the code. */
  code?: string;
  id?: string;
}

const utf16Frame = (text: string) => Buffer.from(`${text.length}#${text}`, 'utf8');
const packetId = fc.uuid();

function isPacketLike(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { id, pattern } = value as Record<string, unknown>;
  return (
    typeof id === 'string' &&
    id.length > 0 &&
    id.length <= 256 &&
    (typeof pattern === 'string' || (typeof pattern === 'object' && pattern !== null && !Array.isArray(pattern)))
  );
}

const randomBytes: fc.Arbitrary<BadInput> = fc
  .uint8Array({ minLength: 1, maxLength: 600 })
  .map((bytes) => ({ bytes: Buffer.from(bytes), expect: 'incomplete' }));

/** A length prefix with something other than decimal digits before `#` (a sign, letters, spaces, nothing). */
const badLength: fc.Arbitrary<BadInput> = fc
  .tuple(
    fc.oneof(
      fc.constantFrom('', '-5', '+5', ' 5', '5 ', '0x10', '1e3', '1.5', 'NaN', 'abc', '٣', '１２'),
      fc.string({ minLength: 1, maxLength: 12 }).filter((s) => /[^0-9]/.test(s) && !s.includes('#')),
    ),
    fc.json(),
  )
  .map(([prefix, json]) => ({
    bytes: Buffer.from(`${prefix}#${json}`, 'utf8'),
    expect: 'refused',
    code: badLengthCode(prefix),
  }));

/**
 * The length is read digit by digit: digits that already announce more than the maximum are refused as too large
 * before the first non-digit is seen (`7029317r#…`); otherwise the non-digit makes the frame malformed.
 */
function badLengthCode(prefix: string): string {
  const leadingDigits = /^[0-9]*/.exec(prefix)![0];
  const tooLarge = leadingDigits.length > 16 || Number(leadingDigits) > MAX_FRAME;
  return tooLarge ? 'TCP.FRAME_TOO_LARGE' : 'TCP.MALFORMED_FRAME';
}

const zeroLength: fc.Arbitrary<BadInput> = fc
  .constantFrom('0#', '00#', '0#{}')
  .map((text) => ({ bytes: Buffer.from(text), expect: 'refused', code: 'TCP.MALFORMED_FRAME' }));

/** An announced length beyond the maximum frame size, with some of its bytes following. */
const oversized: fc.Arbitrary<BadInput> = fc
  .tuple(
    fc.oneof(fc.integer({ min: MAX_FRAME + 1, max: 2 ** 31 }), fc.constant(999_999_999), fc.constant(10 ** 15)),
    fc.nat(4 * KiB),
  )
  .map(([length, follow]) => ({
    bytes: Buffer.concat([Buffer.from(`${length}#`), Buffer.alloc(follow, '{')]),
    expect: 'refused',
    code: 'TCP.FRAME_TOO_LARGE',
  }));

/** Within the announced length, but 3-byte characters take the frame's bytes past the maximum. */
const oversizedInBytes: fc.Arbitrary<BadInput> = fc.constant(null).map(() => ({
  bytes: Buffer.concat([Buffer.from(`${MAX_FRAME}#"`), Buffer.from('€'.repeat(MAX_FRAME / 3 + 16))]),
  expect: 'refused',
  code: 'TCP.FRAME_TOO_LARGE',
}));

const validPacketText = fc
  .tuple(fc.constantFrom(...PATTERNS), packetId)
  .map(([pattern, id]) => JSON.stringify({ pattern, data: anApproval(), id }));

/** A well-formed request frame cut short (the client then stops sending). */
const truncated: fc.Arbitrary<BadInput> = fc
  .tuple(validPacketText, fc.double({ min: 0, max: 0.999, noNaN: true }))
  .map(([text, cut]) => {
    const whole = utf16Frame(text);
    return { bytes: whole.subarray(0, Math.max(1, Math.floor(whole.length * cut))), expect: 'incomplete' };
  });

/** An announced length that does not match the JSON: shorter cuts it (refused), longer waits for more (incomplete). */
const wrongLength: fc.Arbitrary<BadInput> = fc
  .tuple(validPacketText, fc.integer({ min: 1, max: 64 }), fc.boolean())
  .map(([text, delta, shorter]) =>
    shorter
      ? { bytes: Buffer.from(`${text.length - delta}#${text}`), expect: 'refused', code: 'TCP.MALFORMED_FRAME' }
      : { bytes: Buffer.from(`${text.length + delta}#${text}`), expect: 'incomplete' },
  );

const invalidJson: fc.Arbitrary<BadInput> = fc
  .oneof(
    fc.string({ minLength: 1, maxLength: 200, unit: 'binary' }),
    fc.json().map((json) => json.slice(0, -1) + ','),
    fc.json().map((json) => `${json}}`),
    fc.constantFrom('{', '[', '{"id":"x",}', "{'id':'x'}", 'undefined', 'NaN', '{"a":1}{"b":2}'),
  )
  .filter((text) => {
    try {
      JSON.parse(text);
      return false;
    } catch {
      return true;
    }
  })
  .map((text) => ({ bytes: utf16Frame(text), expect: 'refused', code: 'TCP.MALFORMED_FRAME' }));

/** Valid JSON that is not a request packet: scalars, arrays, objects without a string id or a pattern, events. */
const notAPacket: fc.Arbitrary<BadInput> = fc
  .oneof(
    fc.jsonValue(),
    fc.record({ pattern: fc.constantFrom(...PATTERNS), data: fc.jsonValue() }),
    fc.record({
      pattern: fc.constantFrom(...PATTERNS),
      data: fc.jsonValue(),
      id: fc.oneof(fc.integer(), fc.constant(''), fc.constant(null), fc.string({ minLength: 257, maxLength: 300 })),
    }),
    fc.record({ id: packetId, data: fc.jsonValue() }),
    fc.record({ id: packetId, pattern: fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.string())) }),
  )
  .filter((value) => !isPacketLike(value))
  .map((value) => ({ bytes: utf16Frame(JSON.stringify(value)), expect: 'refused', code: 'TCP.MALFORMED_FRAME' }));

/** Bytes that are not UTF-8 inside a frame of the right length. */
const notUtf8: fc.Arbitrary<BadInput> = fc
  .tuple(
    fc.constantFrom(
      [0xff],
      [0xfe],
      [0xc0, 0x80],
      [0xed, 0xa0, 0x80],
      [0xe2, 0x82],
      [0x80],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
    ),
    fc.nat(20),
  )
  .map(([bad, pad]) => {
    const body = Buffer.concat([Buffer.from('"' + 'a'.repeat(pad)), Buffer.from(bad), Buffer.from('"')]);
    return {
      bytes: Buffer.concat([Buffer.from(`${body.length}#`), body]),
      expect: 'refused',
      code: 'TCP.MALFORMED_FRAME',
    };
  });

/** Request packets to patterns the ledger does not have. */
const unknownPattern: fc.Arbitrary<BadInput> = fc
  .tuple(
    fc.oneof(
      fc.string({ maxLength: 40 }).filter((p) => !PATTERNS.includes(p)),
      fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
    ),
    packetId,
    fc.jsonValue(),
  )
  .map(([pattern, id, data]) => ({ bytes: utf16Frame(JSON.stringify({ pattern, data, id })), expect: 'answered', id }));

/** Request packets to the ledger's patterns whose payload is not a valid command. */
const badPayload: fc.Arbitrary<BadInput> = fc
  .tuple(
    fc.constantFrom(...PATTERNS),
    packetId,
    fc.oneof(
      fc.jsonValue(),
      fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 })),
      // a valid approval with one required field dropped or one field of the wrong type
      fc
        .tuple(fc.constantFrom('approvalId', 'riskLevel', 'approvedBy', 'instruction'), fc.boolean())
        .map(([field, drop]) => {
          const approval: Record<string, unknown> = { ...anApproval() };
          if (drop) delete approval[field];
          else approval[field] = 42;
          return approval;
        }),
    ),
  )
  .map(([pattern, id, data]) => ({ bytes: utf16Frame(JSON.stringify({ pattern, data, id })), expect: 'answered', id }));

const badInput: fc.Arbitrary<BadInput> = fc.oneof(
  { arbitrary: randomBytes, weight: 3 },
  { arbitrary: badLength, weight: 2 },
  { arbitrary: zeroLength, weight: 1 },
  { arbitrary: oversized, weight: 2 },
  { arbitrary: oversizedInBytes, weight: 1 },
  { arbitrary: truncated, weight: 2 },
  { arbitrary: wrongLength, weight: 2 },
  { arbitrary: invalidJson, weight: 2 },
  { arbitrary: notAPacket, weight: 3 },
  { arbitrary: notUtf8, weight: 1 },
  { arbitrary: unknownPattern, weight: 2 },
  { arbitrary: badPayload, weight: 3 },
);

/** Sends one bad input on a fresh connection; resolves with a description of what went wrong, or undefined. */
async function violation(port: number, input: BadInput): Promise<string | undefined> {
  const connection = await connectRaw(port);
  try {
    await connection.write(input.bytes);
    const isError = (reply: ReplyPacket) => reply.err !== undefined && reply.response === undefined;
    if (input.expect === 'incomplete') {
      connection.socket.end();
      if (!(await settlesWithin(connection.closed, 10_000))) return 'not closed after the client finished';
      const served = connection.replies.find((reply) => !isError(reply));
      return served ? `served: ${JSON.stringify(served)}` : undefined;
    }
    if (input.expect === 'answered') {
      const reply = await connection.nextReply((r) => r.id === input.id, 10_000);
      if (!reply) return 'no reply to the request';
      return isError(reply) ? undefined : `served: ${JSON.stringify(reply)}`;
    }
    const reply = await connection.nextReply(() => true, 10_000);
    if (errorCode(reply) !== input.code) return `expected ${input.code}, got ${JSON.stringify(reply) ?? 'no reply'}`;
    if (!(await settlesWithin(connection.closed, 10_000))) return 'not closed after the error';
    return undefined;
  } finally {
    connection.destroy();
  }
}

describe('TCP framing fuzz: generated bad frames are answered with an error or closed, and change nothing', () => {
  let t: LedgerUnderTest;
  beforeAll(async () => {
    t = await startLedgerUnderTest({
      tcpMaxFrameBytes: MAX_FRAME,
      tcpMaxBufferedBytes: 16 * MAX_FRAME,
      tcpMaxConnections: 64,
      tcpFrameTimeoutMs: 5_000,
      tcpIdleTimeoutMs: 10_000,
      checkpointsEnabled: false,
      projectionsEnabled: false,
    });
    await t.send(MESSAGE_PATTERNS.grantApproval, anApproval());
  });
  afterAll(() => t?.stop());

  it(`given ${RUNS * PER_RUN} generated bad inputs, then each is answered with an error or closed, no event is appended, memory returns near its start and the ledger still serves`, async () => {
    // Refusals of unauthenticated packets are recorded by design (rate-limited AccessRefused events): not counted.
    const events = async () =>
      (await t.sql<{ n: string }>(`SELECT count(*) AS n FROM ledger.events WHERE type <> 'AccessRefused'`))[0]!.n;
    const eventsBefore = await events();
    const memoryBefore = await retainedBytes();
    let sent = 0;
    const tally: Record<Expectation, number> = { refused: 0, answered: 0, incomplete: 0 };

    await fc.assert(
      fc.asyncProperty(fc.array(badInput, { minLength: PER_RUN, maxLength: PER_RUN }), async (inputs) => {
        sent += inputs.length;
        for (const input of inputs) tally[input.expect]++;
        const problems = await Promise.all(inputs.map((input) => violation(t.ledger.tcpPort, input)));
        const found = problems.findIndex((problem) => problem !== undefined);
        if (found >= 0) {
          const { bytes, expect: expected } = inputs[found]!;
          throw new Error(
            `${problems[found]} (${expected}: ${JSON.stringify(bytes.subarray(0, 200).toString('latin1'))})`,
          );
        }
      }),
      { numRuns: RUNS, endOnFailure: true },
    );

    expect(sent).toBeGreaterThanOrEqual(10_000);
    process.stderr.write(`[tcp fuzz] ${JSON.stringify(tally)}\n`);
    expect(Math.min(...Object.values(tally))).toBeGreaterThan(1_000);
    expect(await events()).toBe(eventsBefore);
    expect((await retainedBytes()) - memoryBefore).toBeLessThan(24 * KiB * KiB);
    expect(await t.send(MESSAGE_PATTERNS.grantApproval, anApproval())).toMatchObject({ duplicate: false });
  }, 300_000);
});
