import { MESSAGE_PATTERNS, type CommandAck } from '@audit-ledger/domain';
import { randomUUID } from 'node:crypto';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';
import type { TestCaller } from '../support/test-credentials.js';
import { within } from '../support/within.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- replies are checked by the assertions
type Json = any;

/**
 * Issue 15's API (the dashboard's data), over real HTTP against the ledger on the embedded store, reconciliation on:
 * executions inherit their approval's session, mismatches filter by session and worker, session summaries, the
 * approvals and mismatches exports, the overview, the live mismatch stream with resume, whoami and a verification run.
 */
describe('dashboard API (HTTP, reconciliation on)', () => {
  let t: LedgerUnderTest;
  const run = `d${randomUUID().slice(0, 8)}`;
  const s1 = `${run}-s1`;
  const s2 = `${run}-s2`;
  const w1 = `${run}-w1`;
  const w2 = `${run}-w2`;
  const first = anApproval({ approvedCommands: ['ls /tmp'], requestedBy: { workerId: w1, sessionId: s1 } });
  const second = anApproval({ approvedCommands: ['ls /var'], requestedBy: { workerId: w2, sessionId: s2 } });
  const started = Date.now() - 60_000;
  const time = (plusMs: number) => new Date(started + plusMs).toISOString();

  const base = () => `http://127.0.0.1:${t.ledger.httpPort}`;
  async function get(
    path: string,
    caller: TestCaller = 'reader',
  ): Promise<{ status: number; body: Json; text: string; headers: Headers }> {
    const response = await fetch(base() + path, { headers: t.headers(caller) });
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined; // CSV, JSON lines
    }
    return { status: response.status, body, text, headers: response.headers };
  }
  const log = (overrides: Parameters<typeof anExecution>[0]) =>
    t.send<CommandAck>(MESSAGE_PATTERNS.logExecution, anExecution(overrides));
  const mismatchesOf = async (approvalId: string) =>
    (await get(`/v1/mismatches?approvalId=${approvalId}`)).body.items as Json[];

  let mismatch: Json;

  beforeAll(async () => {
    t = await startLedgerUnderTest({ reconciliationEnabled: true });
    await t.send(MESSAGE_PATTERNS.grantApproval, first);
    // Logged without a session: the executions inherit the approval's.
    await log({
      approvalId: first.approvalId,
      workerId: w1,
      command: 'ls /tmp',
      startedAt: time(0),
      finishedAt: time(500),
    });
    await log({
      approvalId: first.approvalId,
      workerId: w1,
      command: 'rm -rf /tmp',
      exitCode: 1,
      startedAt: time(1000),
      finishedAt: time(1500),
    });
    await t.send(MESSAGE_PATTERNS.grantApproval, second);
    await t.send(MESSAGE_PATTERNS.revokeApproval, { approvalId: second.approvalId, by: 'bob', reason: 'done' });
    await log({
      approvalId: second.approvalId,
      workerId: w2,
      command: 'ls /var',
      startedAt: time(2000),
      finishedAt: time(2100),
    });
    [mismatch] = await within(10_000, 'the mismatch of rm -rf /tmp', async () => {
      const found = await mismatchesOf(first.approvalId);
      return found.length > 0 ? found : undefined;
    });
    await within(10_000, 'the session summaries of both sessions', async () =>
      (await get(`/v1/sessions/${s2}`)).status === 200 ? true : undefined,
    );
  }, 60_000);
  afterAll(() => t?.stop());

  it('given executions logged without a session under an approval, then they carry its session and filter by it', async () => {
    const { body } = await get(`/v1/executions?sessionId=${s1}`);
    expect(body.items.map((item: Json) => item.command).sort()).toEqual(['ls /tmp', 'rm -rf /tmp']);
    expect(body.items.every((item: Json) => item.sessionId === s1)).toBe(true);
  });

  it('given a mismatch, then it filters by its session and worker and by review status, and carries both', async () => {
    expect(mismatch).toMatchObject({ sessionId: s1, workerId: w1, reviewState: 'open' });
    const ids = async (query: string) =>
      ((await get(`/v1/mismatches?${query}`)).body.items as Json[]).map((item) => item.mismatchId);
    expect(await ids(`sessionId=${s1}`)).toContain(mismatch.mismatchId);
    expect(await ids(`workerId=${w1}`)).toContain(mismatch.mismatchId);
    expect(await ids(`sessionId=${s2}`)).not.toContain(mismatch.mismatchId);
    expect(await ids(`workerId=${w2}&status=open`)).not.toContain(mismatch.mismatchId);
    expect(await ids(`sessionId=${s1}&status=false_positive`)).toEqual([]);
    const bad = await get('/v1/mismatches?status=ignored');
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues).toEqual([expect.objectContaining({ path: 'status' })]);
  });

  it('given the sessions, then their summaries count actions, approved and rejected (revoked) ones, outcomes and durations', async () => {
    expect((await get(`/v1/sessions/${s1}`)).body).toMatchObject({
      sessionId: s1,
      totalActions: 2,
      approved: 2,
      rejected: 0,
      successful: 1,
      failed: 1,
      totalDurationMs: 1000,
    });
    expect((await get(`/v1/sessions/${s2}`)).body).toMatchObject({ totalActions: 1, approved: 0, rejected: 1 });
    const listed = (await get(`/v1/sessions?q=${run}`)).body.items.map((item: Json) => item.sessionId);
    expect(listed.sort()).toEqual([s1, s2]);
    expect((await get(`/v1/sessions/${run}-nobody`)).status).toBe(404);
  });

  it('exports approvals and mismatches as CSV, JSON and JSON lines with the list filters, as attachments', async () => {
    const csv = await get(`/v1/approvals/export?format=csv&sessionId=${s1}`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="approvals-.*\.csv"$/);
    const [header, ...rows] = csv.text.trimEnd().split('\r\n');
    expect(header!.split(',').slice(0, 3)).toEqual(['approvalId', 'status', 'riskLevel']);
    expect(rows.map((row) => row.split(',')[0])).toEqual([first.approvalId]);

    const jsonl = await get(`/v1/mismatches/export?format=jsonl&workerId=${w1}`);
    expect(jsonl.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = jsonl.text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Json);
    expect(lines.map((line) => line.mismatchId)).toEqual([mismatch.mismatchId]);
    const json = await get(`/v1/mismatches/export?format=json&sessionId=${s2}`);
    expect(json.body.map((row: Json) => row.sessionId)).toEqual(json.body.map(() => s2));
    expect((await get('/v1/approvals/export?format=xml')).status).toBe(400);
  });

  it('answers the overview of a range: series, breakdowns, top lists, approval timing, lag and checkpoint', async () => {
    const from = new Date(started - 3_600_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const { status, body } = await get(`/v1/dashboard/overview?from=${from}&to=${to}&bucket=hour`);
    expect(status).toBe(200);
    const sum = (key: string) => body.series.reduce((total: number, point: Json) => total + point[key], 0);
    expect(sum('executions')).toBe(3);
    expect(sum('mismatches')).toBeGreaterThanOrEqual(1);
    expect(body.mismatchesByKind).toEqual(expect.arrayContaining([{ kind: mismatch.kind, count: expect.any(Number) }]));
    expect(body.approvalsByStatus.map((row: Json) => row.status)).toEqual(expect.arrayContaining(['revoked']));
    expect(body.topWorkers.map((row: Json) => row.workerId)).toEqual(expect.arrayContaining([w1, w2]));
    expect(body.topTools).toEqual([{ tool: 'shell', count: 3 }]);
    expect(body.topSessions).toEqual(expect.arrayContaining([{ sessionId: s1, count: 2 }]));
    expect(body.approvalTimeMs).toEqual(expect.objectContaining({ count: expect.any(Number) }));
    expect(body.readModelLag.map((row: Json) => row.projection)).toEqual(
      expect.arrayContaining(['approvals', 'executions', 'reconciliation']),
    );
    expect(body).toHaveProperty('lastCheckpoint');

    const week = await get(`/v1/dashboard/overview?bucket=week`);
    expect(week.status).toBe(400);
    const backwards = await get(`/v1/dashboard/overview?from=${to}&to=${from}`);
    expect(backwards.status).toBe(400);
    const tooLong = await get(`/v1/dashboard/overview?from=2020-01-01T00:00:00Z&to=${to}&bucket=hour`);
    expect(tooLong.body.error.issues).toEqual([expect.objectContaining({ path: 'from' })]);
  });

  it('streams new mismatches as server-sent events and resumes after the last event seen, credential in the URL', async () => {
    const credential = t.credentials.reader;
    const before = (BigInt(mismatch.globalPosition) - 1n).toString();
    const replay = await openStream(`/v1/mismatches/stream?after=${before}&access_token=${credential}`);
    const [seen] = await replay.next(1);
    replay.close();
    expect(seen).toMatchObject({ event: 'mismatch', id: mismatch.globalPosition });
    expect(JSON.parse(seen!.data)).toMatchObject({ mismatchId: mismatch.mismatchId, sessionId: s1 });

    // Reconnects as EventSource does: the same URL, and the last id seen in Last-Event-ID.
    const resumed = await openStream(`/v1/mismatches/stream?after=${before}&access_token=${credential}`, seen!.id);
    const approvalId = first.approvalId;
    await log({ approvalId, workerId: w1, command: 'rm -rf /etc', startedAt: time(3000), finishedAt: time(3100) });
    const [live] = await resumed.next(1);
    // Anything after the last id seen, and nothing before it: the new mismatch arrives (maybe after the revoked one's).
    const news = [live!, ...(JSON.parse(live!.data).approvalId === approvalId ? [] : await resumed.next(1))];
    resumed.close();
    expect(news.every((event) => BigInt(event.id) > BigInt(seen!.id))).toBe(true);
    expect(JSON.parse(news.at(-1)!.data)).toMatchObject({ approvalId, sessionId: s1 });

    // The stream's reads are audited, without the credential.
    const audits = await within(5000, 'the audit records of both connections', async () => {
      const rows = await t.sql<{ data: Json }>(
        `SELECT data FROM ledger.events WHERE type = 'AuditDataAccessed' AND data->>'route' = 'GET /v1/mismatches/stream'
          ORDER BY global_position`,
      );
      return rows.length >= 2 ? rows : undefined;
    });
    expect(JSON.stringify(audits)).not.toContain(credential);
    expect(audits[0]!.data).toMatchObject({ actor: t.credentials.actors.reader, filters: { after: before } });

    const refused = await fetch(`${base()}/v1/mismatches/stream?access_token=not-a-key`);
    expect(refused.status).toBe(401);
    const badId = await fetch(`${base()}/v1/mismatches/stream`, {
      headers: { ...t.headers('reader'), 'last-event-id': 'abc' },
    });
    expect(badId.status).toBe(400);
    // Other routes do not take the credential from the URL: refused, whether as unknown parameter or unauthenticated.
    const elsewhere = await fetch(`${base()}/v1/whoami?access_token=${credential}`);
    expect([400, 401]).toContain(elsewhere.status);
  });

  it('tells each caller who it is and which roles it may act in', async () => {
    expect((await get('/v1/whoami', 'reader')).body.principal).toMatchObject({
      id: t.credentials.actors.reader,
      roles: ['reader'],
    });
    expect((await get('/v1/whoami', 'security')).body.principal.roles).toEqual(['reader', 'security']);
  });

  it('runs a verification for security, audited; refuses readers and bad ranges', async () => {
    const post = (body: unknown, caller: TestCaller) =>
      fetch(`${base()}/v1/integrity/verify`, {
        method: 'POST',
        headers: { ...t.headers(caller), 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post({}, 'reader')).status).toBe(403);
    const bad = await post({ from: '9', to: '2' }, 'security');
    expect(bad.status).toBe(400);
    const noBody = await fetch(`${base()}/v1/integrity/verify`, { method: 'POST', headers: t.headers('security') });
    expect(noBody.status).toBe(400);
    const ok = await post({ streamId: `approval-${first.approvalId}` }, 'security');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({
      ok: true,
      problems: [],
      scope: { streamId: `approval-${first.approvalId}` },
    });
    // Recorded once the answer went out.
    const audit = await within(5000, 'the audit record of the run', async () => {
      const rows = await t.sql<{ data: Json }>(
        `SELECT data FROM ledger.events WHERE type = 'AuditDataAccessed' AND data->>'route' = 'POST /v1/integrity/verify'`,
      );
      return rows[0];
    });
    expect(audit.data).toMatchObject({ actor: t.credentials.actors.security, status: 200 });
  });

  it('replays an approval as of a time with each event’s hash status', async () => {
    const streamId = `approval-${first.approvalId}`;
    const [, secondEvent] = await t.sql<{ recorded_at: Date }>(
      'SELECT recorded_at FROM ledger.events WHERE stream_id = $1 ORDER BY stream_revision',
      [streamId],
    );
    const { body } = await get(
      `/v1/streams/${streamId}/events?asOf=${secondEvent!.recorded_at.toISOString()}`,
      'security',
    );
    expect(body.events.map((event: Json) => [event.type, event.hashStatus])).toEqual([
      ['ApprovalGranted', 'ok'],
      ['ExecutionLogged', 'ok'],
    ]);
  });

  /** A server-sent event stream read frame by frame. */
  async function openStream(path: string, lastEventId?: string) {
    const abort = new AbortController();
    const response = await fetch(base() + path, {
      signal: abort.signal,
      headers: lastEventId === undefined ? {} : { 'last-event-id': lastEventId },
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    return {
      async next(count: number): Promise<{ id: string; event: string; data: string }[]> {
        const events: { id: string; event: string; data: string }[] = [];
        while (events.length < count) {
          const end = buffer.indexOf('\n\n');
          if (end >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const field = (name: string) =>
              frame
                .split('\n')
                .find((line) => line.startsWith(`${name}: `))
                ?.slice(name.length + 2);
            if (field('event')) events.push({ id: field('id')!, event: field('event')!, data: field('data')! });
            continue;
          }
          const { value, done } = await reader.read();
          if (done) throw new Error(`the stream ended after ${events.length} events`);
          buffer += decoder.decode(value, { stream: true });
        }
        return events;
      },
      close: () => abort.abort(),
    };
  }
});
