import { MESSAGE_PATTERNS } from '@audit-ledger/domain';
import { connect, type Socket } from 'node:net';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';

interface ErrorReply {
  error: { code: string; message: string; issues?: { path: string; message: string }[] };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Issue 10 findings 1 and 10 (HTTP): input JSON cannot hold is refused at the edge, with its path, storing nothing. */
describe('hostile input is refused before it is hashed or stored', () => {
  let t: LedgerUnderTest;
  let countBefore: number;
  const count = async () => Number((await t.sql<{ n: string }>('SELECT count(*) AS n FROM ledger.events'))[0]!.n);
  const url = (path: string) => `http://127.0.0.1:${t.ledger.httpPort}${path}`;

  beforeAll(async () => {
    t = await startLedgerUnderTest({ checkpointsEnabled: true, checkpointEveryEvents: 1 });
    await t.send(MESSAGE_PATTERNS.grantApproval, anApproval());
    // The checkpoint of that event is sealed (and stored) in the background: let it land before counting.
    await within(async () => (await fetch(url('/v1/integrity'), { headers: t.headers() })).status === 200);
    // Settled: the last checkpoint covers every other event (the first start's keys, the reads of /v1/integrity).
    await within(async () => {
      const [row] = await t.sql<{ settled: boolean }>(
        `SELECT (SELECT max(global_position) FROM ledger.events WHERE stream_id <> 'checkpoints') =
                (SELECT (data->>'toPosition')::bigint FROM ledger.events WHERE stream_id = 'checkpoints'
                  ORDER BY stream_revision DESC LIMIT 1) AS settled`,
      );
      return row?.settled === true;
    });
  });
  afterAll(() => t?.stop());

  describe('in commands (nothing is appended)', () => {
    beforeEach(async () => {
      countBefore = await count();
    });
    afterEach(async () => {
      expect(await count()).toBe(countBefore);
    });

    // JSON text as a hostile client writes it: escapes JSON.stringify would never produce for well-formed text.
    const poisons: [string, (body: string) => string, string][] = [
      ['a lone high surrogate in a value', (b) => b.replace('"docker compose ps"', '"\\ud800"'), 'command'],
      ['a lone low surrogate in a value', (b) => b.replace('"docker compose ps"', '"ls \\udc00 -l"'), 'command'],
      ['a NUL in a value', (b) => b.replace('"docker compose ps"', '"ls\\u0000"'), 'command'],
      ['a NUL in the output', (b) => b.replace('"NAME', '"\\u0000NAME'), 'output'],
      ['a lone surrogate in a member name', (b) => b.replace('"workerId"', '"\\ud83d"'), '\\ud83d'],
      ['an integer beyond 2^53', (b) => b.replace('"exitCode":0', '"exitCode":9007199254740993'), 'exitCode'],
      ['-0', (b) => b.replace('"exitCode":0', '"exitCode":-0'), 'exitCode'],
    ];

    it.each(poisons)('over HTTP, %s is answered 400 naming the field', async (_label, poison, path) => {
      const body = poison(JSON.stringify(anExecution({ sessionId: 'S1' })));
      const response = await t.http('POST', '/v1/executions', undefined, body);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ error: { code: 'VALIDATION.FAILED' } });
      expect((response.body as ErrorReply).error.issues?.map((issue) => issue.path)).toContain(path);
    });

    // The TCP client writes -0 as 0 (JSON.stringify): -0 can only arrive as HTTP text.
    it.each(poisons.filter(([label]) => label !== '-0'))(
      'over TCP, %s is refused naming the field',
      async (_label, poison, path) => {
        const payload: unknown = JSON.parse(poison(JSON.stringify(anExecution({ sessionId: 'S1' }))));
        const error = (await t.send(MESSAGE_PATTERNS.logExecution, payload).catch((e: unknown) => e)) as ErrorReply;
        expect(error).toMatchObject({ error: { code: 'VALIDATION.FAILED' } });
        expect(error.error.issues?.map((issue) => issue.path)).toContain(path);
      },
    );

    it('a lone surrogate in an approval, a rejection, a revocation or a review is refused on every route', async () => {
      const approval = anApproval({ instruction: 'do \ud800 it' });
      expect((await t.http('POST', '/v1/approvals', approval)).status).toBe(400);
      const reject = await t.http('POST', '/v1/approvals/A-x/reject', { by: 'bob', reason: 'no \udfff' });
      expect(reject.status).toBe(400);
      const revoke = await t.http('POST', '/v1/approvals/A-x/revoke', { by: '\u0000', reason: 'r' });
      expect(revoke.status).toBe(400);
      const review = await t.http('POST', '/v1/mismatches/M-1/review', {
        streamId: 'approval-A-x',
        reviewer: 'sec',
        resolution: 'expected',
        note: 'fine \ud800',
      });
      expect(review.status).toBe(400);
      const rerun = await t.http('POST', '/v1/reconciliation/rerun', { since: { at: '\u0000' } });
      expect(rerun.status).toBe(400);
      for (const pattern of Object.values(MESSAGE_PATTERNS)) {
        const error = await t.send(pattern, { approvalId: 'A-\ud800' }).catch((e: unknown) => e);
        expect({ pattern, error }).toMatchObject({ pattern, error: { error: { code: 'VALIDATION.FAILED' } } });
      }
    });
  });

  describe('in path ids and query values (400, not 500; nothing read)', () => {
    it.each([
      ['/v1/streams/approval-%00'],
      ['/v1/streams/approval-%00/events'],
      ['/v1/approvals/A-%00'],
      ['/v1/executions?status=%00'],
      ['/v1/approvals?q=a%00b'],
      ['/v1/evidence?streamId=%00'],
      ['/v1/integrity?x=%00'],
      ['/v1/integrity?x=1'],
      ['/v1/executions?surprise=1'],
      ['/health?x=1'],
    ])('GET %s answers 400 naming the parameter', async (path) => {
      const response = await fetch(url(path), { headers: t.headers() });
      expect(response.status).toBe(400);
      const body = (await response.json()) as ErrorReply;
      expect(body.error.code).toBe('VALIDATION.FAILED');
      expect(body.error.issues?.length).toBeGreaterThan(0);
    });
  });

  it('every successful GET /v1 read (integrity and exports included) is audited', async () => {
    // given an approval with an execution, and a sealed checkpoint for /v1/integrity
    const approval = anApproval();
    const session = `S-${approval.approvalId}`;
    approval.requestedBy = { ...approval.requestedBy, sessionId: session };
    await t.send(MESSAGE_PATTERNS.grantApproval, approval);
    const execution = anExecution({ approvalId: approval.approvalId });
    const ack = await t.send<{ globalPosition: string }>(MESSAGE_PATTERNS.logExecution, execution);
    await within(async () => (await fetch(url('/v1/integrity'), { headers: t.headers() })).status === 200);
    const stream = `approval-${approval.approvalId}`;
    const min = `minPosition=${ack.globalPosition}`;
    // A valid read per GET /v1 route; a new route must be added here (or to the status probes).
    const reads: Record<string, string> = {
      '/v1/approvals': `/v1/approvals?${min}`,
      '/v1/approvals/:approvalId': `/v1/approvals/${approval.approvalId}?${min}`,
      '/v1/executions': `/v1/executions?${min}`,
      '/v1/executions/export': `/v1/executions/export?format=csv&${min}`,
      '/v1/executions/:executionId': `/v1/executions/${execution.executionId}?${min}`,
      '/v1/streams/:streamId': `/v1/streams/${stream}`,
      '/v1/streams/:streamId/events': `/v1/streams/${stream}/events`,
      '/v1/integrity': '/v1/integrity',
      '/v1/evidence': `/v1/evidence?approvalId=${approval.approvalId}`,
      '/v1/mismatches': `/v1/mismatches?${min}`,
      '/v1/summaries': `/v1/summaries?${min}`,
      '/v1/alerts/stream': '/v1/alerts/stream',
      '/v1/approvals/export': `/v1/approvals/export?format=json&${min}`,
      '/v1/mismatches/export': `/v1/mismatches/export?format=jsonl&${min}`,
      '/v1/mismatches/stream': '/v1/mismatches/stream',
      '/v1/sessions': `/v1/sessions?${min}`,
      '/v1/sessions/:sessionId': `/v1/sessions/${session}?${min}`,
      '/v1/dashboard/overview': `/v1/dashboard/overview?${min}`,
      '/v1/whoami': '/v1/whoami',
      '/v1/principals/keys': '/v1/principals/keys',
    };
    const headersOf = (_route: string): Record<string, string> => t.headers();
    const routes = t.ledger.httpRoutes
      .filter((route) => route.method === 'GET' && route.url.startsWith('/v1/') && !route.url.endsWith('/status'))
      // re-run job progress is polled like a status probe; the job's start and end are events of their own
      .filter((route) => !route.url.startsWith('/v1/reconciliation/reruns'))
      .map((route) => route.url);
    expect(routes.filter((route) => !reads[route])).toEqual([]);
    for (const route of routes) {
      // when it is read successfully
      const before = await accesses(`GET ${route}`);
      const abort = new AbortController();
      const response = await fetch(url(reads[route]!), { signal: abort.signal, headers: headersOf(route) });
      expect({ route, status: response.status }).toEqual({ route, status: 200 });
      abort.abort(); // the alert stream never ends; the others are read
      // then the read is recorded
      await within(async () => (await accesses(`GET ${route}`)) > before);
    }
  });

  async function accesses(route: string): Promise<number> {
    const rows = await t.sql<{ n: string }>(
      `SELECT count(*)::text AS n FROM ledger.events WHERE type = 'AuditDataAccessed' AND data->>'route' = $1`,
      [route],
    );
    return Number(rows[0]!.n);
  }

  describe('a request followed by bytes that are not HTTP on its connection', () => {
    const request = (execution: object) => {
      const body = JSON.stringify(execution);
      return (
        `POST /v1/executions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
        `Authorization: Bearer ${t.credentials.all}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
      );
    };
    const garbage = '\u0001\u0002 not http at all\r\n\r\n';

    async function exchange(writes: string[]): Promise<string> {
      const socket: Socket = connect(t.ledger.httpPort, '127.0.0.1');
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.on('error', () => undefined);
      for (const [i, write] of writes.entries()) {
        if (i > 0) await sleep(1);
        socket.write(write);
      }
      await Promise.race([closed, sleep(5000)]);
      socket.destroy();
      return received;
    }

    const stored = async (executionId: string) =>
      Number(
        (
          await t.sql<{ n: string }>(
            `SELECT count(*)::text AS n FROM ledger.events WHERE type = 'ExecutionLogged' AND data->>'executionId' = $1`,
            [executionId],
          )
        )[0]!.n,
      );

    it('in the same TCP write: refused with 400 and nothing is committed', async () => {
      const execution = anExecution({ sessionId: 'S-garbage' });
      const received = await exchange([request(execution) + garbage]);
      expect(received).toMatch(/^HTTP\/1\.1 400 /);
      expect(received).not.toMatch(/ 201 /);
      await sleep(200); // an append in flight would have landed
      expect(await stored(execution.executionId)).toBe(0);
    });

    it('in the next TCP write: the answer is the truth (201 stored, or 400 and nothing stored)', async () => {
      for (let i = 0; i < 5; i++) {
        const execution = anExecution({ sessionId: 'S-garbage' });
        const received = await exchange([request(execution), garbage]);
        await sleep(100);
        const status = /^HTTP\/1\.1 (\d{3}) /.exec(received)?.[1];
        expect({ status, stored: await stored(execution.executionId) }).toEqual(
          status === '201' ? { status, stored: 1 } : { status: '400', stored: 0 },
        );
      }
    });

    it('a request alone on its connection is still served', async () => {
      const execution = anExecution({ sessionId: 'S-clean' });
      const received = await exchange([
        request(execution).replace('HTTP/1.1\r\n', 'HTTP/1.1\r\nConnection: close\r\n'),
      ]);
      expect(received).toMatch(/^HTTP\/1\.1 201 /);
      expect(await stored(execution.executionId)).toBe(1);
    });
  });
});

async function within(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await condition()) return;
    await sleep(100);
  }
  throw new Error('condition not met within 10 s');
}
