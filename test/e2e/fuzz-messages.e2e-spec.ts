import {
  GrantApprovalRequest,
  LogExecutionRequest,
  MESSAGE_PATTERNS,
  RejectApprovalRequest,
  RevokeApprovalRequest,
} from '@audit-ledger/domain';
import fc from 'fast-check';
import { z } from 'zod';
import {
  badPayloads,
  collectGarbage,
  inPool,
  parses,
  type BadPayload,
  type BodySchema,
} from '../support/bad-inputs.js';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';
import { RawTcpClient } from '../support/raw-tcp-client.js';
import { settledFingerprint, storeFingerprint } from '../support/store-fingerprint.js';
import { ACCESS_REFUSED } from '../../apps/ledger/src/index.js';

/** Generated bad payloads per message pattern (issue 10 acceptance: at least 10,000). */
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const CONCURRENCY = 16;

/** A valid payload and its schema per message pattern; a new pattern must be added here (the first test says so). */
const VALID_PAYLOADS: Record<string, { valid: () => Record<string, unknown>; schema: z.ZodType }> = {
  [MESSAGE_PATTERNS.grantApproval]: { valid: () => ({ ...anApproval() }), schema: GrantApprovalRequest },
  [MESSAGE_PATTERNS.rejectApproval]: {
    valid: () => ({ approvalId: 'A-fuzz', by: 'bob@example.com', reason: 'too risky' }),
    schema: RejectApprovalRequest,
  },
  [MESSAGE_PATTERNS.revokeApproval]: {
    valid: () => ({ approvalId: 'A-fuzz', by: 'bob@example.com', reason: 'no longer needed' }),
    schema: RevokeApprovalRequest,
  },
  [MESSAGE_PATTERNS.logExecution]: {
    valid: () => ({ ...anExecution({ sessionId: 'S-fuzz' }) }),
    schema: LogExecutionRequest,
  },
};

/**
 * Issue 10 acceptance: every message pattern (TCP here; NATS reaches the same controllers) gets at least 10,000
 * generated bad payloads sent as valid frames (bad types, missing and unknown members, lone surrogates, NUL, huge
 * numbers, bad ids); each gets an error reply, the events and read models are unchanged, and memory is back near its
 * start afterwards. Framing itself is fuzzed elsewhere.
 */
describe('fuzz: every message pattern refuses generated bad payloads and changes nothing', () => {
  let t: LedgerUnderTest;
  let client: RawTcpClient;

  beforeAll(async () => {
    t = await startLedgerUnderTest({ reconciliationEnabled: true, checkpointsEnabled: false });
    await t.send(MESSAGE_PATTERNS.grantApproval, anApproval({ approvalId: 'A-fuzz' }));
    await t.send(MESSAGE_PATTERNS.logExecution, anExecution({ approvalId: 'A-fuzz' }));
    client = await RawTcpClient.connect(t.ledger.tcpPort, t.credentials.gateway);
    process.stdout.write(`fuzz-messages: seed ${SEED} (FUZZ_SEED=${SEED} to replay), ${RUNS} runs per pattern\n`);
  });
  afterAll(async () => {
    client?.close();
    await t?.stop();
  });

  it('covers every message pattern', () => {
    expect(Object.values(MESSAGE_PATTERNS).filter((pattern) => !VALID_PAYLOADS[pattern])).toEqual([]);
  });

  it(`answers ${RUNS} bad payloads per pattern with an error reply and leaves the store as it was`, async () => {
    const before = await settledFingerprint(t, { ignoreTypes: [ACCESS_REFUSED] });
    await collectGarbage();
    const heapBefore = process.memoryUsage().heapUsed;
    const failures: string[] = [];
    for (const [index, pattern] of Object.values(MESSAGE_PATTERNS).entries()) {
      const { valid, schema } = VALID_PAYLOADS[pattern]!;
      const jsonSchema = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as BodySchema;
      // Valid frames only: malformed JSON text is the framing fuzz's business.
      const payloads = fc.sample(
        badPayloads(valid(), jsonSchema, true).filter((payload) => payload.kind === 'value' || parses(payload.text)),
        { numRuns: RUNS, seed: SEED + index },
      );
      await inPool(payloads, CONCURRENCY, async (payload) => {
        const reply = await client.send(pattern, dataJson(payload));
        const error = reply.err as { error?: { code?: string; message?: string } } | undefined;
        const outcome =
          reply.err === undefined
            ? `acknowledged ${JSON.stringify(reply.response)}`
            : error?.error?.code && error.error.message
              ? undefined
              : `unclear error ${JSON.stringify(reply.err)}`;
        if (outcome && failures.length < 20) failures.push(`${pattern} ${payload.defect}: ${outcome}`);
      });
    }
    expect(failures).toEqual([]);
    // Refusals are recorded by design (rate-limited AccessRefused events): everything else is unchanged.
    expect(await storeFingerprint(t, { ignoreTypes: [ACCESS_REFUSED] })).toEqual(before);
    await collectGarbage();
    const grownMiB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    expect({ grownMiB: Math.round(grownMiB), nearStart: grownMiB < 64 }).toMatchObject({ nearStart: true });
  }, 600_000);
});

function dataJson(payload: BadPayload): string {
  return payload.kind === 'text' ? payload.text : (JSON.stringify(payload.value) ?? 'null');
}
