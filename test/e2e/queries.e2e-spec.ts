import { MESSAGE_PATTERNS, type CommandAck, type LogExecutionRequest } from '@audit-ledger/domain';
import { randomUUID } from 'node:crypto';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- replies are checked by the assertions
interface Reply<T = any> {
  status: number;
  headers: Headers;
  text: string;
  body: T;
}
interface Page {
  items: { executionId: string; command: string; workerId: string; [key: string]: unknown }[];
  nextCursor: string | null;
}

/** RFC 4180, as a state machine: quoted fields may hold commas, doubled quotes, CR and LF. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field !== '' || record.length) throw new Error('the CSV does not end with CRLF');
  return records;
}

/** p95 as percentile_cont: linear interpolation between the closest ranks. */
function p95(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = 0.95 * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

const at = (iso: string, plusMs: number) => new Date(Date.parse(iso) + plusMs).toISOString();

describe('query API and exports (HTTP, on the read models)', () => {
  let t: LedgerUnderTest;
  let lastPosition = 0n;
  const run = `r${randomUUID().slice(0, 8)}`;

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as Reply
  async function get<T = any>(path: string): Promise<Reply<T>> {
    const response = await fetch(`http://127.0.0.1:${t.ledger.httpPort}${path}`, { headers: t.headers() });
    const text = await response.text();
    let body: unknown = undefined;
    try {
      body = JSON.parse(text);
    } catch {
      // CSV, JSONL
    }
    return { status: response.status, headers: response.headers, text, body: body as T };
  }

  async function log(execution: LogExecutionRequest): Promise<CommandAck> {
    const ack = await t.send<CommandAck>(MESSAGE_PATTERNS.logExecution, execution);
    if (BigInt(ack.globalPosition) > lastPosition) lastPosition = BigInt(ack.globalPosition);
    return ack;
  }

  async function logAll(executions: LogExecutionRequest[], concurrency = 16): Promise<void> {
    for (let i = 0; i < executions.length; i += concurrency)
      await Promise.all(executions.slice(i, i + concurrency).map(log));
  }

  /** Every page of `path` (which has no `?`-less form: it carries filters), following nextCursor. */
  async function allPages(path: string, onPage?: () => Promise<void>): Promise<Page['items']> {
    const items: Page['items'] = [];
    let cursor: string | null = null;
    do {
      const reply: Reply<Page> = await get<Page>(`${path}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(reply.status).toBe(200);
      items.push(...reply.body.items);
      cursor = reply.body.nextCursor;
      await onPage?.();
    } while (cursor);
    return items;
  }

  const approval = anApproval({
    riskLevel: 'destructive',
    requestedBy: { workerId: `${run}-w1`, agentId: 'agent-7', sessionId: `${run}-s1` },
    approvedCommands: ['rm -rf /tmp/cache'],
  });

  beforeAll(async () => {
    t = await startLedgerUnderTest();
    const grant = await t.send<CommandAck>(MESSAGE_PATTERNS.grantApproval, approval);
    lastPosition = BigInt(grant.globalPosition);
    await log(
      anExecution({
        approvalId: approval.approvalId,
        workerId: `${run}-w1`,
        command: 'rm -rf /tmp/cache',
        startedAt: '2026-11-20T08:00:00.000Z',
        finishedAt: '2026-11-20T08:00:02.000Z',
      }),
    );
    await log(
      anExecution({
        sessionId: `${run}-s2`,
        workerId: `${run}-w2`,
        toolName: 'sql',
        command: 'SELECT 100% _done_ FROM t',
        exitCode: 1,
        startedAt: '2026-11-20T09:00:00.000Z',
        finishedAt: '2026-11-20T09:00:00.500Z',
      }),
    );
    await log(
      anExecution({
        sessionId: `${run}-s2`,
        workerId: `${run}-w2`,
        toolName: 'sql',
        command: 'SELECT 1000 xdonex FROM t',
        startedAt: '2026-11-20T10:00:00.000Z',
        finishedAt: '2026-11-20T10:00:00.100Z',
      }),
    );
  }, 30_000);
  afterAll(() => t.stop());

  it('waits for ?minPosition= and reports the position and lag in headers', async () => {
    const reply = await get<Page>(`/v1/executions?minPosition=${lastPosition}&workerId=${run}-w1`);
    expect(reply.status).toBe(200);
    expect(BigInt(reply.headers.get('x-ledger-position')!)).toBeGreaterThanOrEqual(lastPosition);
    expect(reply.headers.get('x-ledger-lag')).toMatch(/^\d+$/);
    expect(reply.body.items.map((item) => item.command)).toEqual(['rm -rf /tmp/cache']);
    expect(reply.body.nextCursor).toBeNull();
  });

  it('filters executions by approval, session, worker, tool, risk, status, time and free text', async () => {
    const commands = async (query: string) =>
      (await get<Page>(`/v1/executions?minPosition=${lastPosition}&${query}`)).body.items.map((i) => i.command);
    expect(await commands(`approvalId=${approval.approvalId}`)).toEqual(['rm -rf /tmp/cache']);
    expect(await commands(`sessionId=${run}-s2`)).toEqual(['SELECT 1000 xdonex FROM t', 'SELECT 100% _done_ FROM t']);
    expect(await commands(`sessionId=${run}-s2&order=asc`)).toEqual([
      'SELECT 100% _done_ FROM t',
      'SELECT 1000 xdonex FROM t',
    ]);
    expect(await commands(`workerId=${run}-w2&toolName=sql&status=failure`)).toEqual(['SELECT 100% _done_ FROM t']);
    expect(await commands(`workerId=${run}-w1&riskLevel=destructive`)).toEqual(['rm -rf /tmp/cache']);
    expect(await commands(`workerId=${run}-w1&riskLevel=safe`)).toEqual([]);
    expect(
      await commands(
        `workerId=${run}-w2&from=2026-11-20T09:30:00Z&to=${encodeURIComponent('2026-11-20T11:00:00+00:00')}`,
      ),
    ).toEqual(['SELECT 1000 xdonex FROM t']);
    // % and _ are literal characters, not wildcards
    expect(await commands(`workerId=${run}-w2&q=${encodeURIComponent('100%')}`)).toEqual(['SELECT 100% _done_ FROM t']);
    expect(await commands(`workerId=${run}-w2&q=_done_`)).toEqual(['SELECT 100% _done_ FROM t']);
    expect(await commands(`workerId=${run}-w2&q=select`)).toHaveLength(2);

    const one = await get(
      `/v1/executions/${(await get<Page>(`/v1/executions?workerId=${run}-w1`)).body.items[0]!.executionId}`,
    );
    expect(one).toMatchObject({ status: 200, body: { command: 'rm -rf /tmp/cache', approvalId: approval.approvalId } });
    expect((await get(`/v1/executions/${randomUUID()}`)).status).toBe(404);
  });

  it('lists and gets approvals with filters', async () => {
    const list = await get<{ items: { approvalId: string; executionCount: number }[] }>(
      `/v1/approvals?minPosition=${lastPosition}&workerId=${run}-w1&riskLevel=destructive&q=tmp%2Fcache`,
    );
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([expect.objectContaining({ approvalId: approval.approvalId, executionCount: 1 })]);
    const one = await get(`/v1/approvals/${approval.approvalId}`);
    expect(one).toMatchObject({
      status: 200,
      body: { riskLevel: 'destructive', requestedBy: { sessionId: `${run}-s1` } },
    });
    expect(one.headers.get('x-ledger-position')).toMatch(/^\d+$/);
    expect((await get('/v1/approvals/A-nope')).status).toBe(404);
    expect((await get(`/v1/approvals?sessionId=${run}-s1&status=rejected`)).body.items).toEqual([]);
    const mismatches = await get('/v1/mismatches?kind=extra_command&limit=10');
    expect(mismatches).toMatchObject({ status: 200, body: { items: [], nextCursor: null } });
  });

  it.each([
    ['/v1/executions?limit=501', 'limit'],
    ['/v1/executions?limit=0', 'limit'],
    ['/v1/executions?bogus=1', 'bogus'],
    ['/v1/executions?cursor=not-a-cursor', 'cursor'],
    ['/v1/executions?from=yesterday', 'from'],
    ['/v1/executions?from=2026-11-21T00:00:00Z&to=2026-11-20T00:00:00Z', 'to'],
    ['/v1/executions?order=sideways', 'order'],
    ['/v1/executions?status=maybe', 'status'],
    ['/v1/executions?workerId=a&workerId=b', 'workerId'],
    ['/v1/executions?minPosition=-1', 'minPosition'],
    ['/v1/approvals?status=weird', 'status'],
    ['/v1/approvals?toolName=shell', 'toolName'],
    ['/v1/mismatches?limit=abc', 'limit'],
    ['/v1/summaries?groupBy=worker,planet', 'groupBy.1'],
    ['/v1/summaries?bucket=month', 'bucket'],
    ['/v1/executions/export?format=xml', 'format'],
    ['/v1/executions/export', 'format'],
    ['/v1/executions/export?format=csv&limit=5', 'limit'],
  ])('refuses %s with 400 naming %s', async (path, field) => {
    const reply = await get<{ error: { code: string; issues: { path: string }[] } }>(path);
    expect(reply.status).toBe(400);
    expect(reply.body.error.code).toBe('VALIDATION.FAILED');
    expect(reply.body.error.issues.map((issue) => issue.path)).toContain(field);
  });

  it('pages through every execution exactly once while more are inserted, and 503s on a position never reached', async () => {
    const worker = `${run}-pager`;
    const base = '2026-11-21T00:00:00.000Z';
    // 150 executions, 3 per millisecond-identical start time (the global position breaks the tie)
    const before = Array.from({ length: 150 }, (_, i) =>
      anExecution({
        sessionId: `${run}-pager-s${i % 5}`,
        workerId: worker,
        startedAt: at(base, Math.floor(i / 3) * 1000),
        finishedAt: at(base, Math.floor(i / 3) * 1000 + 10),
      }),
    );
    await logAll(before);
    const notCaughtUp = get(`/v1/executions?minPosition=${lastPosition + 1_000_000n}`);

    let inserted = 0;
    const insertMore = async () => {
      // a few more per page, at times all over the range already paged and still to page
      await logAll(
        Array.from({ length: 4 }, () => {
          const ms = ((inserted++ * 7919) % 50) * 1000;
          return anExecution({
            sessionId: `${run}-pager-s9`,
            workerId: worker,
            startedAt: at(base, ms),
            finishedAt: at(base, ms + 10),
          });
        }),
      );
    };
    for (const order of ['desc', 'asc']) {
      const seen = await allPages(
        `/v1/executions?minPosition=${lastPosition}&workerId=${worker}&limit=7&order=${order}`,
        insertMore,
      );
      const ids = seen.map((item) => item.executionId);
      expect(new Set(ids).size).toBe(ids.length); // nothing twice
      for (const execution of before) expect(ids).toContain(execution.executionId); // nothing missed
      const times = seen.map((item) => Date.parse(item.startedAt as string));
      const sorted = [...times].sort((a, b) => (order === 'asc' ? a - b : b - a));
      expect(times).toEqual(sorted);
    }
    expect(inserted).toBeGreaterThan(40);

    const late = await notCaughtUp;
    expect(late.status).toBe(503);
    expect(late.body).toMatchObject({ error: { code: 'READ_MODEL.NOT_CAUGHT_UP' } });
  }, 20_000);

  it('summarises executions per bucket and dimension as computed by hand', async () => {
    const worker = `${run}-sum`;
    const durations = { shellDay1: [100, 200, 300, 400, 1000], sqlDay1: [50], shellDay2: [70, 30] };
    const executions: LogExecutionRequest[] = [
      ...durations.shellDay1.map((ms, i) =>
        anExecution({
          sessionId: `${run}-sum-s`,
          workerId: worker,
          exitCode: i === 4 ? 2 : 0,
          startedAt: at('2026-11-19T10:00:00.000Z', i * 3_600_000),
          finishedAt: at('2026-11-19T10:00:00.000Z', i * 3_600_000 + ms),
        }),
      ),
      ...durations.sqlDay1.map((ms) =>
        anExecution({
          sessionId: `${run}-sum-s`,
          workerId: worker,
          toolName: 'sql',
          exitCode: null,
          startedAt: '2026-11-19T23:59:59.000Z',
          finishedAt: at('2026-11-19T23:59:59.000Z', ms),
        }),
      ),
      ...durations.shellDay2.map((ms) =>
        anExecution({
          sessionId: `${run}-sum-s`,
          workerId: worker,
          startedAt: '2026-11-20T00:00:00.000Z',
          finishedAt: at('2026-11-20T00:00:00.000Z', ms),
        }),
      ),
    ];
    await logAll(executions);
    const reply = await get(
      `/v1/summaries?minPosition=${lastPosition}&workerId=${worker}&groupBy=worker,toolName&bucket=day`,
    );
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      bucket: 'day',
      groupBy: ['worker', 'toolName'],
      p95: 'exact', // two dimensions: no rollup covers them
      truncated: false,
      items: [
        {
          bucket: '2026-11-19T00:00:00.000Z',
          worker,
          toolName: 'shell',
          executions: 5,
          successes: 4,
          failures: 1,
          totalDurationMs: 2000,
          p95DurationMs: p95(durations.shellDay1),
          mismatchesByKind: {},
        },
        {
          bucket: '2026-11-19T00:00:00.000Z',
          worker,
          toolName: 'sql',
          executions: 1,
          successes: 0,
          failures: 1,
          totalDurationMs: 50,
          p95DurationMs: 50,
          mismatchesByKind: {},
        },
        {
          bucket: '2026-11-20T00:00:00.000Z',
          worker,
          toolName: 'shell',
          executions: 2,
          successes: 2,
          failures: 0,
          totalDurationMs: 100,
          p95DurationMs: p95(durations.shellDay2),
          mismatchesByKind: {},
        },
      ],
    });
    expect(p95(durations.shellDay1)).toBeCloseTo(880); // 400 + 0.8 × 600
    const weekly = await get(`/v1/summaries?workerId=${worker}&bucket=week`);
    expect(weekly.body.p95).toBe('histogram'); // from the summary rollups
    expect(weekly.body.items).toEqual([
      expect.objectContaining({ bucket: '2026-11-16T00:00:00.000Z', executions: 8, successes: 6, failures: 2 }),
    ]);
    const weeklyExact = await get(`/v1/summaries?workerId=${worker}&bucket=week&exact=true`);
    expect(weeklyExact.body.p95).toBe('exact');
    expect({ ...weeklyExact.body.items[0], p95DurationMs: 0 }).toEqual({ ...weekly.body.items[0], p95DurationMs: 0 });
    const hourly = await get(
      `/v1/summaries?workerId=${worker}&bucket=hour&groupBy=riskLevel&from=2026-11-19T11:00:00Z&to=2026-11-19T13:00:00Z`,
    );
    expect(hourly.body.items.map((row: { bucket: string; riskLevel: string }) => [row.bucket, row.riskLevel])).toEqual([
      // executions count under the assessed risk of their command (these commands only read)
      ['2026-11-19T11:00:00.000Z', 'safe'],
      ['2026-11-19T12:00:00.000Z', 'safe'],
    ]);
  });

  it('exports a few hundred executions as CSV that parses back to the same rows, and as JSON and JSONL', async () => {
    const worker = `${run}-csv`;
    const nasty = ['a,b', 'say "hi"', 'line1\nline2', 'crlf\r\nend', ' padded ', '"', ',', 'plain', 'ünïcødé ✓'];
    const executions = Array.from({ length: 300 }, (_, i) =>
      anExecution({
        sessionId: `${run}-csv-s`,
        workerId: worker,
        command: `echo ${i} ${nasty[i % nasty.length]!} ${nasty[(i * 7) % nasty.length]!}`,
        startedAt: at('2026-11-18T00:00:00.000Z', i * 1000),
        finishedAt: at('2026-11-18T00:00:00.000Z', i * 1000 + i),
      }),
    );
    await logAll(executions);

    const csv = await get(`/v1/executions/export?format=csv&workerId=${worker}&order=asc&minPosition=${lastPosition}`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="executions-.*\.csv"$/);
    expect(csv.headers.get('x-ledger-position')).toMatch(/^\d+$/);
    const [header, ...rows] = parseCsv(csv.text);
    expect(header).toEqual(expect.arrayContaining(['executionId', 'command', 'startedAt', 'durationMs']));
    const column = (name: string) => header!.indexOf(name);
    expect(rows).toHaveLength(300);
    expect(
      rows.map((row) => ({
        executionId: row[column('executionId')],
        command: row[column('command')],
        startedAt: row[column('startedAt')],
        durationMs: Number(row[column('durationMs')]),
        approvalId: row[column('approvalId')],
      })),
    ).toEqual(
      executions.map((e, i) => ({
        executionId: e.executionId,
        command: e.command,
        startedAt: e.startedAt,
        durationMs: i,
        approvalId: '',
      })),
    );

    const jsonl = await get(`/v1/executions/export?format=jsonl&workerId=${worker}`);
    expect(jsonl.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const lines = jsonl.text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(300);
    expect(new Set(lines.map((line) => (JSON.parse(line) as { executionId: string }).executionId)).size).toBe(300);

    const json = await get<{ command: string }[]>(`/v1/executions/export?format=json&workerId=${worker}&order=asc`);
    expect(json.body.map((row) => row.command)).toEqual(executions.map((e) => e.command));
    const empty = await get(`/v1/executions/export?format=json&workerId=${run}-nobody`);
    expect(empty.body).toEqual([]);
  });
});
