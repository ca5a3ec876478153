import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { anApproval, anExecution } from '../../../test/support/fixtures.js';
import {
  LedgerClient,
  LedgerRejectedError,
  LedgerValidationError,
  LEDGER_COMMANDS,
  silentLogger,
  tcpFrameBytes,
  validateCommand,
  type LedgerClientOptions,
  type LedgerCommandResult,
} from '../src/index.js';
import { LedgerOnPort, outageServer } from './support/ledger-on-port.js';
import { SpoolDir } from './support/spool-dir.js';

describe('the client against the real ledger, through an outage', () => {
  let ledger: LedgerOnPort;
  let dir: SpoolDir;
  const clients: LedgerClient[] = [];
  const clientOf = (
    options: Pick<LedgerClientOptions, 'requestTimeoutMs' | 'backgroundDrain' | 'drainBackoff' | 'maxFrameBytes'> & {
      port?: number;
    } = {},
  ) => {
    const client = new LedgerClient({
      credential: ledger.gatewayKey,
      host: '127.0.0.1',
      spoolDir: dir.path,
      backgroundDrain: false,
      logger: silentLogger,
      ...options,
      port: options.port ?? ledger.tcpPort,
    });
    clients.push(client);
    return client;
  };
  const closeClients = () => Promise.all(clients.splice(0).map((client) => client.close()));

  beforeAll(async () => {
    ledger = await LedgerOnPort.create();
  });
  afterAll(() => ledger.dispose());
  beforeEach(() => {
    dir = new SpoolDir();
  });
  afterEach(async () => {
    await closeClients();
    await ledger.stop();
    dir.remove();
  });

  /** 100 executions of one approval, logged one after the other while nothing listens on the ledger's port. */
  async function spoolHundredExecutions(client: LedgerClient) {
    const approvalId = `A-${randomUUID()}`;
    const executions = Array.from({ length: 100 }, () => anExecution({ approvalId }));
    const results: LedgerCommandResult[] = [];
    for (const execution of executions) results.push(await client.logExecution(execution));
    return { streamId: `approval-${approvalId}`, executionIds: executions.map((e) => e.executionId), results };
  }

  it('given the ledger stopped, when 100 executions are logged, then each is spooled; when it starts and the spool drains, then the store holds exactly those 100, in order', async () => {
    const client = clientOf();
    const { streamId, executionIds, results } = await spoolHundredExecutions(client);

    expect(results).toEqual(executionIds.map((_, index) => ({ status: 'spooled', spoolSeq: index + 1 })));
    expect(dir.jsonLines('entries')).toHaveLength(100);

    await ledger.start();
    expect(await client.drainSpool()).toEqual({ sent: 100, rejected: 0, conflicts: 0, remaining: 0 });

    expect(await ledger.executionIdsIn(streamId)).toEqual(executionIds);
    expect(dir.text('entries')).toBe('');
    const next = await client.logExecution(anExecution({ approvalId: streamId.slice('approval-'.length) }));
    expect(next).toMatchObject({ status: 'acknowledged', ack: { streamId, streamRevision: 100, duplicate: false } });
  });

  it('given background draining, when the ledger comes back, then the client sends what it spooled on its own', async () => {
    const client = clientOf({ backgroundDrain: true, drainBackoff: { initialMs: 20, maxMs: 200 } });
    const approvalId = `A-${randomUUID()}`;
    const executions = Array.from({ length: 3 }, () => anExecution({ approvalId }));
    for (const execution of executions) await client.logExecution(execution);

    await ledger.start();

    await eventually(async () => (await ledger.executionIdsIn(`approval-${approvalId}`)).length === 3);
    expect(await ledger.executionIdsIn(`approval-${approvalId}`)).toEqual(executions.map((e) => e.executionId));
    await eventually(async () => dir.text('entries') === '');
  });

  it('given a drain cut off midway by the ledger going down, when it comes back and the drain restarts, then the store still holds exactly the 100', async () => {
    const client = clientOf();
    const { streamId, executionIds } = await spoolHundredExecutions(client);
    await ledger.start();

    let acked = 0;
    let outage: Promise<void> | undefined;
    const first = await client.drainSpool({
      onEntry: () => {
        if (++acked === 50) outage = ledger.stop();
      },
    });
    await outage;
    expect(first.sent).toBeGreaterThanOrEqual(50);
    expect(first.remaining).toBe(100 - first.sent);
    expect(dir.acked()).toBe(first.sent);

    await ledger.start();
    const second = await client.drainSpool();

    expect(first.sent + second.sent).toBe(100);
    expect(second.remaining).toBe(0);
    expect(await ledger.executionIdsIn(streamId)).toEqual(executionIds);
  });

  it('given a crash between acknowledgements and the progress write, when a new client drains again, then the resent entries are duplicates and the store holds exactly the 100', async () => {
    const spooling = clientOf();
    const { streamId, executionIds } = await spoolHundredExecutions(spooling);
    await spooling.close();
    await ledger.start();
    let acked = 0;
    const crashing = clientOf();
    await crashing.drainSpool({
      onEntry: () => {
        if (++acked === 60) void crashing.close();
      },
    });
    await crashing.close();
    expect(dir.acked()).toBe(60);
    writeFileSync(dir.file('progress'), JSON.stringify({ acked: 40 })); // the last 20 progress writes never happened

    const duplicates: boolean[] = [];
    const report = await clientOf().drainSpool({
      onEntry: (entry) => duplicates.push(entry.outcome === 'sent' && entry.ack.duplicate),
    });

    expect(report).toEqual({ sent: 60, rejected: 0, conflicts: 0, remaining: 0 });
    expect(duplicates.filter(Boolean)).toHaveLength(20);
    expect(await ledger.executionIdsIn(streamId)).toEqual(executionIds);
  });

  it('given a port that drops connections, or one that never answers, when a command is sent, then it is spooled without throwing', async () => {
    for (const behaviour of ['drop', 'ignore'] as const) {
      const outage = await outageServer(behaviour);
      try {
        const result = await clientOf({ port: outage.port, requestTimeoutMs: 200 }).logExecution(
          anExecution({ sessionId: 'S1' }),
        );
        expect(result).toEqual({ status: 'spooled', spoolSeq: 1 });
      } finally {
        await closeClients();
        await outage.close();
        dir.remove();
        dir = new SpoolDir();
      }
    }
  });

  it('given invalid input, when it is logged, then it throws naming the field, and nothing is spooled or recorded', async () => {
    await ledger.start();
    const approvalId = `A-${randomUUID()}`;

    const error = await clientOf()
      .logExecution(anExecution({ approvalId, workerId: 'worker one' }))
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(LedgerValidationError);
    expect((error as LedgerValidationError).issues).toEqual([{ path: 'workerId', message: expect.any(String) }]);
    expect(dir.text('entries')).toBe('');
    expect(await ledger.executionIdsIn(`approval-${approvalId}`)).toEqual([]);
  });

  it('given a ledger with a small LEDGER_TCP_MAX_FRAME_BYTES, when a command one byte too big for a frame is logged, then it throws at once and is not spooled; one that fills a frame exactly is recorded, and so is the next', async () => {
    const maxFrameBytes = 16 * 1024;
    await ledger.start({ tcpMaxFrameBytes: maxFrameBytes });
    const client = clientOf({ maxFrameBytes });
    const approvalId = `A-${randomUUID()}`;
    // An execution padded so that its frame, as Nest's TCP client writes it, is exactly `bytes` long.
    const ofFrameBytes = (bytes: number) => {
      // With its occurredAt, as the client would stamp it (then the frame measured is the frame sent).
      const base = anExecution({ approvalId, output: '', occurredAt: new Date().toISOString() });
      const measured = tcpFrameBytes(
        LEDGER_COMMANDS.logExecution.pattern,
        validateCommand('logExecution', { ...base, output: 'é"' }),
        ledger.gatewayKey, // the frame carries the credential too
      );
      const padding = bytes - measured; // 'é"' is 5 bytes as JSON text; each 'x' one more
      return { ...base, output: `é"${'x'.repeat(padding)}` };
    };
    const tooBig = ofFrameBytes(maxFrameBytes + 1);
    const exact = ofFrameBytes(maxFrameBytes);

    const error = await client.logExecution(tooBig).catch((e: unknown) => e);
    const filled = await client.logExecution(exact);
    const nextExecution = anExecution({ approvalId });
    const next = await client.logExecution(nextExecution);

    expect(error).toBeInstanceOf(LedgerValidationError);
    expect((error as LedgerValidationError).message).toContain(`${maxFrameBytes + 1} bytes as a TCP frame`);
    expect(dir.text('entries')).toBe('');
    expect(filled.status).toBe('acknowledged');
    expect(next.status).toBe('acknowledged');
    expect(await ledger.executionIdsIn(`approval-${approvalId}`)).toEqual([
      exact.executionId,
      nextExecution.executionId,
    ]);

    // and the bound is tight: a client told a larger maxFrameBytes sends the one-byte-too-big command, and the ledger
    // closes the connection on it (which, unchecked, is spooled as an outage)
    const otherDir = new SpoolDir();
    try {
      const unchecked = new LedgerClient({
        credential: ledger.gatewayKey,
        host: '127.0.0.1',
        port: ledger.tcpPort,
        spoolDir: otherDir.path,
        backgroundDrain: false,
        logger: silentLogger,
        maxFrameBytes: 4 * maxFrameBytes,
      });
      clients.push(unchecked);
      expect(await unchecked.logExecution(tooBig)).toEqual({ status: 'spooled', spoolSeq: 1 });
      await unchecked.close();
    } finally {
      otherDir.remove();
    }
  });

  it('given a granted approval, when it is rejected, then the ledger refuses for good and the client throws its code', async () => {
    await ledger.start();
    const client = clientOf();
    const approval = anApproval();
    expect(await client.grantApproval(approval)).toMatchObject({ status: 'acknowledged' });

    const error = await client
      .rejectApproval({ approvalId: approval.approvalId, by: 'bob', reason: 'changed my mind' })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(LedgerRejectedError);
    expect((error as LedgerRejectedError).code).toMatch(/^APPROVAL\./);
    expect(dir.text('entries')).toBe('');
  });

  it('given a spooled grant and a contradicting reject, when drained, then the reject moves to rejected.jsonl and the drain goes on', async () => {
    const client = clientOf();
    const approval = anApproval();
    await client.grantApproval(approval);
    await client.rejectApproval({ approvalId: approval.approvalId, by: 'bob', reason: 'too late' });
    const execution = anExecution({ approvalId: approval.approvalId });
    await client.logExecution(execution);
    await ledger.start();

    expect(await client.drainSpool()).toEqual({ sent: 2, rejected: 1, conflicts: 0, remaining: 0 });
    expect(dir.jsonLines('rejected')).toEqual([
      expect.objectContaining({
        seq: 2,
        error: expect.objectContaining({ code: expect.stringMatching(/^APPROVAL\./) }),
      }),
    ]);
    expect(await ledger.executionIdsIn(`approval-${approval.approvalId}`)).toEqual([execution.executionId]);
  });

  it('given spooled commands after a crash, one a genuine retry, one reusing an execution id for other content and one reusing it under another approval, when drained, then the retry is a duplicate and each conflict is kept in conflicts.jsonl and reported', async () => {
    await ledger.start();
    const conflicts: unknown[] = [];
    const client = new LedgerClient({
      credential: ledger.gatewayKey,
      host: '127.0.0.1',
      port: ledger.tcpPort,
      spoolDir: dir.path,
      backgroundDrain: false,
      logger: silentLogger,
      onSpoolConflict: (conflict) => conflicts.push(conflict),
    });
    clients.push(client);
    const approvalId = `A-${randomUUID()}`;
    const original = anExecution({ approvalId, command: 'ls /srv', output: 'x'.repeat(200) });
    const reused = anExecution({ approvalId });
    const first = await client.logExecution(original);
    const second = await client.logExecution(reused);
    expect([first.status, second.status]).toEqual(['acknowledged', 'acknowledged']);
    await ledger.stop();

    // the gateway retries the first (it never saw the ack) and reuses the second's id for another command
    expect(await client.logExecution(original)).toMatchObject({ status: 'spooled' });
    expect(await client.logExecution({ ...reused, command: 'rm -rf /srv', exitCode: 1 })).toMatchObject({
      status: 'spooled',
    });
    // and reuses the first's id under another approval
    const otherApproval = `A-${randomUUID()}`;
    expect(await client.logExecution({ ...original, approvalId: otherApproval })).toMatchObject({ status: 'spooled' });
    // restarted with a smaller output cap: the stored text of a retry would differ, which is no conflict
    await ledger.start({ outputCapBytes: 16 });

    expect(await client.drainSpool()).toEqual({ sent: 1, rejected: 0, conflicts: 2, remaining: 0 });
    const [kept, elsewhere] = dir.jsonLines('conflicts');
    expect(kept).toMatchObject({
      seq: 2,
      entry: { pattern: 'executions.log', payload: { executionId: reused.executionId, command: 'rm -rf /srv' } },
      error: {
        code: 'EVENT_STORE.IDEMPOTENCY_CONFLICT',
        details: {
          idempotencyKey: reused.executionId,
          stored: { globalPosition: (second as { ack: { globalPosition: string } }).ack.globalPosition },
          differences: ['command', 'exitCode'],
        },
      },
    });
    expect(elsewhere).toMatchObject({
      seq: 3,
      entry: { pattern: 'executions.log', payload: { executionId: original.executionId, approvalId: otherApproval } },
      error: {
        code: 'EVENT_STORE.IDEMPOTENCY_CONFLICT',
        details: {
          idempotencyKey: original.executionId,
          stored: {
            streamId: `approval-${approvalId}`,
            globalPosition: (first as { ack: { globalPosition: string } }).ack.globalPosition,
          },
          differences: ['streamId', 'approvalId'],
        },
      },
    });
    expect(conflicts).toEqual([
      expect.objectContaining({ seq: 2, outcome: 'conflict' }),
      expect.objectContaining({ seq: 3, outcome: 'conflict' }),
    ]);
    expect(dir.text('rejected')).toBe('');
    expect(await ledger.executionIdsIn(`approval-${approvalId}`)).toEqual([original.executionId, reused.executionId]);
    expect(await ledger.executionIdsIn(`approval-${otherApproval}`)).toEqual([]);

    // sent directly (nothing spooled), the same conflict is thrown with its details, and not spooled
    const direct = await client.logExecution({ ...reused, workerId: 'w9' }).catch((error: unknown) => error);
    expect(direct).toBeInstanceOf(LedgerRejectedError);
    expect(direct).toMatchObject({
      code: 'EVENT_STORE.IDEMPOTENCY_CONFLICT',
      details: { idempotencyKey: reused.executionId, differences: ['workerId'] },
    });
    expect(dir.text('entries')).toBe('');
  });
});

/** Polls (no fixed sleeps) until the condition holds. */
async function eventually(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
