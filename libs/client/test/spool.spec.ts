import { MESSAGE_PATTERNS } from '@audit-ledger/domain';
import { spawnSync } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { anExecution } from '../../../test/support/fixtures.js';
import {
  LedgerClient,
  LedgerRejectedError,
  LedgerValidationError,
  SpoolWriteError,
  silentLogger,
  tcpFrameBytes,
  type LedgerClientOptions,
} from '../src/index.js';
import { ScriptedTransport, unavailable } from './support/scripted-transport.js';
import { SpoolDir } from './support/spool-dir.js';

describe('the spool of the ledger client', () => {
  let dir: SpoolDir;
  const clients: LedgerClient[] = [];
  const clientOn = (
    transport: ScriptedTransport,
    options: Pick<LedgerClientOptions, 'backgroundDrain' | 'drainBackoff' | 'maxFrameBytes'> = {},
  ) => {
    const client = new LedgerClient({
      ledgerTransport: transport,
      spoolDir: dir.path,
      backgroundDrain: false,
      lockWaitMs: 100,
      logger: silentLogger,
      ...options,
    });
    clients.push(client);
    return client;
  };
  const executionIdsIn = (payloads: unknown[]) =>
    payloads.map((payload) => (payload as { executionId: string }).executionId);

  beforeEach(() => {
    dir = new SpoolDir();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    dir.remove();
  });

  it('given the ledger unavailable, when commands are logged, then each is appended as one JSONL line and none throws', async () => {
    const client = clientOn(new ScriptedTransport(unavailable));
    const executions = [anExecution({ approvalId: 'A1' }), anExecution({ approvalId: 'A1' })];

    const results = await Promise.all(executions.map((execution) => client.logExecution(execution)));

    expect(results).toEqual([
      { status: 'spooled', spoolSeq: 1 },
      { status: 'spooled', spoolSeq: 2 },
    ]);
    const lines = dir.jsonLines('entries');
    expect(lines).toEqual([
      expect.objectContaining({ seq: 1, pattern: MESSAGE_PATTERNS.logExecution, spooledAt: expect.any(String) }),
      expect.objectContaining({ seq: 2, pattern: MESSAGE_PATTERNS.logExecution }),
    ]);
    expect(executionIdsIn(lines.map((line) => line.payload))).toEqual(executions.map((e) => e.executionId));
  });

  it('given a command spooled during an outage, when it is drained later, then it carries the time it was submitted, not the drain time', async () => {
    const transport = new ScriptedTransport(unavailable);
    const client = clientOn(transport);
    const before = new Date().toISOString();
    await client.revokeApproval({ approvalId: 'A1', by: 'bob', reason: 'incident' });
    const after = new Date().toISOString();
    const stamped = (dir.jsonLines('entries')[0]!.payload as { occurredAt: string }).occurredAt;
    expect(stamped >= before && stamped <= after).toBe(true);
    transport.behaviour = (command, ledger) => ledger.acknowledge(command);
    transport.sent.length = 0;

    await client.drainSpool();

    expect(transport.sent.map((c) => (c.payload as { occurredAt?: string }).occurredAt)).toEqual([stamped]);
  });

  it('given an occurredAt from the caller, then the spooled command keeps it (normalised to UTC)', async () => {
    const client = clientOn(new ScriptedTransport(unavailable));
    await client.revokeApproval({ approvalId: 'A1', by: 'bob', reason: 'r', occurredAt: '2026-11-23T10:04:00+01:00' });
    expect(dir.jsonLines('entries')[0]!.payload).toEqual(
      expect.objectContaining({ occurredAt: '2026-11-23T09:04:00.000Z' }),
    );
  });

  it('given an entry spooled without occurredAt (by an older client), when drained, then it is sent with its spooledAt', async () => {
    const payload = { approvalId: 'A1', by: 'bob', reason: 'r' };
    const spooledAt = '2026-11-23T10:04:00.000Z';
    writeFileSync(
      dir.file('entries'),
      `${JSON.stringify({ seq: 1, pattern: MESSAGE_PATTERNS.revokeApproval, payload, spooledAt })}\n`,
    );
    const transport = new ScriptedTransport();

    expect(await clientOn(transport).drainSpool()).toEqual({ sent: 1, rejected: 0, conflicts: 0, remaining: 0 });
    expect(transport.sent.map((c) => c.payload)).toEqual([{ ...payload, occurredAt: spooledAt }]);
  });

  it('given spooled commands, when the ledger is back and new commands come, then they queue behind and the drain sends all in order, then compacts', async () => {
    const transport = new ScriptedTransport(unavailable);
    const client = clientOn(transport);
    const first = anExecution({ approvalId: 'A1' });
    await client.logExecution(first);
    transport.behaviour = (command, ledger) => ledger.acknowledge(command);
    transport.sent.length = 0;

    const second = anExecution({ approvalId: 'A1' });
    expect(await client.logExecution(second)).toEqual({ status: 'spooled', spoolSeq: 2 });
    expect(transport.sent).toEqual([]);

    expect(await client.drainSpool()).toEqual({ sent: 2, rejected: 0, conflicts: 0, remaining: 0 });
    expect(executionIdsIn(transport.sent.map((c) => c.payload))).toEqual([first.executionId, second.executionId]);
    expect(dir.text('entries')).toBe('');
    expect(dir.acked()).toBe(0);
    const third = await client.logExecution(anExecution({ approvalId: 'A1' }));
    expect(third.status).toBe('acknowledged');
  });

  it('given a drain that stops midway, when a new client drains, then it resumes after the last acknowledged entry', async () => {
    const executions = Array.from({ length: 5 }, () => anExecution({ sessionId: 'S1' }));
    const down = clientOn(new ScriptedTransport(unavailable));
    for (const execution of executions) await down.logExecution(execution);
    await down.close();

    let answered = 0;
    const flaky = new ScriptedTransport((command, ledger) =>
      ++answered <= 2 ? ledger.acknowledge(command) : unavailable(command, ledger),
    );
    expect(await clientOn(flaky).drainSpool()).toEqual({ sent: 2, rejected: 0, conflicts: 0, remaining: 3 });
    await clients.at(-1)!.close();
    expect(dir.acked()).toBe(2);

    const healthy = new ScriptedTransport();
    expect(await clientOn(healthy).drainSpool()).toEqual({ sent: 3, rejected: 0, conflicts: 0, remaining: 0 });
    expect(executionIdsIn(healthy.sent.map((c) => c.payload))).toEqual(executionIdsIn(executions.slice(2)));
  });

  it('given a crash between an acknowledgement and its progress write, when the drain restarts, then it resends that entry and the ledger answers duplicate', async () => {
    const down = clientOn(new ScriptedTransport(unavailable));
    for (let i = 0; i < 3; i++) await down.logExecution(anExecution({ sessionId: 'S1' }));
    await down.close();
    writeFileSync(dir.file('progress'), JSON.stringify({ acked: 1 }));
    const ledger = new ScriptedTransport();
    const entries = dir.jsonLines('entries');
    ledger.acknowledge({ pattern: MESSAGE_PATTERNS.logExecution, payload: entries[1]!.payload });

    const drained: boolean[] = [];
    const report = await clientOn(ledger).drainSpool({
      onEntry: (entry) => drained.push(entry.outcome === 'sent' && entry.ack.duplicate),
    });

    expect(report).toEqual({ sent: 2, rejected: 0, conflicts: 0, remaining: 0 });
    expect(drained).toEqual([true, false]);
  });

  it('given a torn last line (crash mid-append), when the spool is reopened, then the fragment is dropped and the whole lines are sent', async () => {
    const down = clientOn(new ScriptedTransport(unavailable));
    const kept = [anExecution({ sessionId: 'S1' }), anExecution({ sessionId: 'S1' })];
    for (const execution of kept) await down.logExecution(execution);
    await down.close();
    appendFileSync(dir.file('entries'), '{"seq":3,"pattern":"executions.log","payl');

    const ledger = new ScriptedTransport(unavailable);
    const client = clientOn(ledger);
    const next = anExecution({ sessionId: 'S1' });
    expect(await client.logExecution(next)).toEqual({ status: 'spooled', spoolSeq: 3 });
    ledger.behaviour = (command, self) => self.acknowledge(command);
    ledger.sent.length = 0;

    expect(await client.drainSpool()).toEqual({ sent: 3, rejected: 0, conflicts: 0, remaining: 0 });
    expect(executionIdsIn(ledger.sent.map((c) => c.payload))).toEqual(executionIdsIn([...kept, next]));
  });

  it('given an entry the ledger refuses for good, when draining, then it moves to rejected.jsonl with the error and the rest goes on', async () => {
    const down = clientOn(new ScriptedTransport(unavailable));
    const [bad, good] = [anExecution({ sessionId: 'S1' }), anExecution({ sessionId: 'S1' })];
    await down.logExecution(bad);
    await down.logExecution(good);
    await down.close();
    const ledger = new ScriptedTransport((command, self) =>
      (command.payload as { executionId: string }).executionId === bad.executionId
        ? {
            kind: 'refused',
            code: 'VALIDATION.FAILED',
            message: 'Invalid request',
            issues: [{ path: 'command', message: 'x' }],
          }
        : self.acknowledge(command),
    );

    expect(await clientOn(ledger).drainSpool()).toEqual({ sent: 1, rejected: 1, conflicts: 0, remaining: 0 });
    expect(dir.jsonLines('rejected')).toEqual([
      expect.objectContaining({
        seq: 1,
        error: { code: 'VALIDATION.FAILED', message: 'Invalid request', issues: [{ path: 'command', message: 'x' }] },
        entry: expect.objectContaining({ payload: expect.objectContaining({ executionId: bad.executionId }) }),
      }),
    ]);
  });

  it('given an unreadable line in the middle, when draining, then it is set aside in rejected.jsonl and the next lines are sent', async () => {
    const down = clientOn(new ScriptedTransport(unavailable));
    await down.logExecution(anExecution({ sessionId: 'S1' }));
    await down.close();
    appendFileSync(dir.file('entries'), 'not json\n');

    expect(await clientOn(new ScriptedTransport()).drainSpool()).toEqual({
      sent: 1,
      rejected: 1,
      conflicts: 0,
      remaining: 0,
    });
    expect(dir.jsonLines('rejected')).toEqual([
      expect.objectContaining({
        seq: 2,
        line: 'not json',
        error: expect.objectContaining({ code: 'CLIENT.SPOOL_LINE_UNREADABLE' }),
      }),
    ]);
  });

  it('given invalid input, when it is logged, then it throws with the field paths and nothing is sent or spooled', async () => {
    const transport = new ScriptedTransport(unavailable);
    const client = clientOn(transport);

    const error = await client
      .logExecution(anExecution({ approvalId: undefined, sessionId: undefined, exitCode: 999 }))
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(LedgerValidationError);
    expect((error as LedgerValidationError).issues.map((issue) => issue.path).sort()).toEqual([
      'approvalId',
      'exitCode',
    ]);
    expect(transport.sent).toEqual([]);
    expect(dir.text('entries')).toBe('');
  });

  it.each([
    ['a lone surrogate', { command: 'ls \ud800' }, 'command'],
    ['a NUL', { output: 'a\u0000b' }, 'output'],
    ['an integer beyond 2^53', { durationMs: 2 ** 60 }, 'durationMs'],
  ])(
    'given input with %s, when it is logged with the ledger down, then it throws naming the field and nothing is spooled',
    async (_label, overrides, path) => {
      const transport = new ScriptedTransport(unavailable);
      const client = clientOn(transport);

      const error = await client.logExecution(anExecution({ sessionId: 'S1', ...overrides })).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(LedgerValidationError);
      expect((error as LedgerValidationError).issues.map((issue) => issue.path)).toContain(path);
      expect(transport.sent).toEqual([]);
      expect(dir.text('entries')).toBe('');
    },
  );

  it('given a poison entry already in the spool (an older client), when draining, then it is reported and set aside, never sent, and the rest goes on', async () => {
    const down = clientOn(new ScriptedTransport(unavailable));
    await down.logExecution(anExecution({ sessionId: 'S1' }));
    await down.logExecution(anExecution({ sessionId: 'S1' }));
    await down.close();
    // The first entry rewritten as an older client would have spooled it: a lone surrogate in the command.
    const [first, second] = dir.text('entries').trimEnd().split('\n');
    writeFileSync(dir.file('entries'), `${first!.replace('"docker compose ps"', '"\\ud800"')}\n${second!}\n`);
    const transport = new ScriptedTransport();
    const reported: unknown[] = [];

    const report = await clientOn(transport).drainSpool({ onEntry: (entry) => reported.push(entry) });

    expect(report).toEqual({ sent: 1, rejected: 1, conflicts: 0, remaining: 0 });
    expect(transport.sent).toHaveLength(1);
    expect(reported[0]).toMatchObject({
      seq: 1,
      outcome: 'rejected',
      error: { code: 'CLIENT.SPOOL_ENTRY_UNSTORABLE', issues: [{ path: 'command' }] },
    });
    expect(dir.jsonLines('rejected')).toEqual([
      expect.objectContaining({ seq: 1, error: expect.objectContaining({ code: 'CLIENT.SPOOL_ENTRY_UNSTORABLE' }) }),
    ]);
  });

  it.each([
    ['plain text', 'x'.repeat(3000)],
    ['text JSON escapes to twice its length', '"'.repeat(1500)],
    ['text of two UTF-8 bytes a character', 'é'.repeat(1500)],
  ])(
    'given a command whose TCP frame exceeds maxFrameBytes (%s), when it is logged with the ledger down, then it throws a validation error naming the sizes and nothing is sent or spooled',
    async (_label, output) => {
      const transport = new ScriptedTransport(unavailable);
      const client = clientOn(transport, { maxFrameBytes: 2500 });

      const error = await client.logExecution(anExecution({ sessionId: 'S1', output })).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(LedgerValidationError);
      expect((error as LedgerValidationError).message).toMatch(/bytes as a TCP frame, over .* 2500 bytes/);
      expect(transport.sent).toEqual([]);
      expect(dir.text('entries')).toBe('');
    },
  );

  it('given a command whose frame is exactly maxFrameBytes, then it is sent; one byte less allowed, then it is refused', async () => {
    const command = anExecution({ sessionId: 'S1', output: 'é"\n'.repeat(200) });
    const transport = new ScriptedTransport();
    // The client sends the validated request: measure what it sends (the fixture as validated).
    await clientOn(transport).logExecution(command);
    const bytes = tcpFrameBytes(transport.sent[0]!.pattern, transport.sent[0]!.payload);

    const atLimit = await clientOn(new ScriptedTransport(), { maxFrameBytes: bytes }).logExecution(command);
    const overLimit = await clientOn(new ScriptedTransport(), { maxFrameBytes: bytes - 1 })
      .logExecution(command)
      .catch((e: unknown) => e);

    expect(atLimit.status).toBe('acknowledged');
    expect(overLimit).toBeInstanceOf(LedgerValidationError);
  });

  it('given an entry too big for one frame already in the spool, when draining, then it is set aside in rejected.jsonl, never sent, and the rest goes on', async () => {
    const down = clientOn(new ScriptedTransport(unavailable));
    const big = anExecution({ sessionId: 'S1', output: 'x'.repeat(5000) });
    const small = anExecution({ sessionId: 'S1' });
    await down.logExecution(big);
    await down.logExecution(small);
    await down.close();
    const transport = new ScriptedTransport();
    const reported: unknown[] = [];

    const report = await clientOn(transport, { maxFrameBytes: 4000 }).drainSpool({
      onEntry: (entry) => reported.push(entry),
    });

    expect(report).toEqual({ sent: 1, rejected: 1, conflicts: 0, remaining: 0 });
    expect(executionIdsIn(transport.sent.map((c) => c.payload))).toEqual([small.executionId]);
    expect(reported[0]).toMatchObject({ seq: 1, outcome: 'rejected', error: { code: 'CLIENT.SPOOL_ENTRY_TOO_LARGE' } });
    expect(dir.jsonLines('rejected')).toEqual([
      expect.objectContaining({
        seq: 1,
        error: expect.objectContaining({ code: 'CLIENT.SPOOL_ENTRY_TOO_LARGE' }),
        entry: expect.objectContaining({ payload: expect.objectContaining({ executionId: big.executionId }) }),
      }),
    ]);
  });

  it('given a definitive refusal of a direct send, when the command is logged, then it throws LedgerRejectedError and spools nothing', async () => {
    const client = clientOn(
      new ScriptedTransport(() => ({
        kind: 'refused',
        code: 'APPROVAL.ALREADY_DECIDED',
        message: 'A1 is rejected',
        issues: [],
      })),
    );

    const error = await client
      .rejectApproval({ approvalId: 'A1', by: 'bob', reason: 'too risky' })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(LedgerRejectedError);
    expect(error).toMatchObject({ code: 'APPROVAL.ALREADY_DECIDED' });
    expect(dir.text('entries')).toBe('');
  });

  it('given another live client holding the spool, when this one must spool, then it fails loudly instead of interleaving', async () => {
    const holder = clientOn(new ScriptedTransport(unavailable));
    await holder.logExecution(anExecution({ sessionId: 'S1' }));

    const error = await clientOn(new ScriptedTransport(unavailable))
      .logExecution(anExecution({ sessionId: 'S1' }))
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SpoolWriteError);
    expect(String((error as Error).message)).toContain(`locked by pid ${process.pid}`);
    expect(dir.jsonLines('entries')).toHaveLength(1);
  });

  it('given a lock left by a dead process, when a client opens the spool, then it takes the lock over and drains', async () => {
    const down = clientOn(new ScriptedTransport(unavailable));
    await down.logExecution(anExecution({ sessionId: 'S1' }));
    await down.close();
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
    writeFileSync(
      dir.file('lock'),
      JSON.stringify({ pid: deadPid, hostname: hostname(), acquiredAt: '2026-01-01T00:00:00.000Z', token: 'gone' }),
    );

    expect(await clientOn(new ScriptedTransport()).drainSpool()).toEqual({
      sent: 1,
      rejected: 0,
      conflicts: 0,
      remaining: 0,
    });
  });

  it('given leftovers from an earlier run and background draining, when the ledger answers, then the client sends them on its own', async () => {
    const down = clientOn(new ScriptedTransport(unavailable));
    await down.logExecution(anExecution({ sessionId: 'S1' }));
    await down.close();

    const ledger = new ScriptedTransport(unavailable);
    let probes = 0;
    ledger.behaviour = (command, self) => (++probes < 3 ? unavailable(command, self) : self.acknowledge(command));
    clientOn(ledger, { backgroundDrain: true, drainBackoff: { initialMs: 5, maxMs: 20 } });

    await until(() => dir.text('entries') === '' && probes >= 3);
    expect(probes).toBe(3);
  });
});

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
