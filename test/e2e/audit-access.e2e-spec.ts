import { anApproval } from '../support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';

interface AccessRow {
  stream_id: string;
  data: {
    actor: string;
    route: string;
    params: Record<string, string>;
    filters: Record<string, unknown>;
    status?: number;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Issue 6 item 6: every read of audit data leaves an AuditDataAccessed event in access-<yyyy-mm-dd>. */
describe('audit of the audit', () => {
  let t: LedgerUnderTest;
  const approval = anApproval();
  const stream = `approval-${approval.approvalId}`;

  beforeAll(async () => {
    t = await startLedgerUnderTest({ checkpointsEnabled: false });
    expect((await t.http('POST', '/v1/approvals', approval)).status).toBe(201);
  });

  afterAll(async () => {
    await t?.stop();
  });

  async function accessesOf(route: string, streamId = stream): Promise<AccessRow[]> {
    for (let i = 0; i < 50; i++) {
      const rows = await t.sql<AccessRow>(
        `SELECT stream_id, data FROM ledger.events WHERE type = 'AuditDataAccessed' AND data->>'route' = $1
           AND data->'params'->>'streamId' = $2`,
        [route, streamId],
      );
      if (rows.length > 0) return rows;
      await sleep(50);
    }
    return [];
  }

  it('records a stream read with who (the authenticated principal, whatever a header claims), what and the filters', async () => {
    const response = await fetch(`http://127.0.0.1:${t.ledger.httpPort}/v1/streams/${stream}?maxCount=5`, {
      headers: { 'x-ledger-actor': 'auditor-7', authorization: `Bearer ${t.credentials.reader}` },
    });
    expect(response.status).toBe(200);
    const [row] = await accessesOf('GET /v1/streams/:streamId');
    expect(row).toBeDefined();
    expect(row!.stream_id).toBe(`access-${new Date().toISOString().slice(0, 10)}`);
    expect(row!.data).toMatchObject({
      actor: t.credentials.actors.reader,
      params: { streamId: stream },
      filters: { maxCount: '5' },
      status: 200,
    });
  });

  it('records a replay with its reader', async () => {
    const asOf = new Date().toISOString();
    expect((await t.http('GET', `/v1/streams/${stream}/events?asOf=${asOf}`)).status).toBe(200);
    const [row] = await accessesOf('GET /v1/streams/:streamId/events');
    expect(row!.data).toMatchObject({ actor: t.credentials.actors.all, filters: { asOf } });
  });

  it('records the status answered: an approval not in the read model is a 404, not a 500', async () => {
    const missing = `missing-${approval.approvalId}`;
    expect((await t.http('GET', `/v1/approvals/${missing}`)).status).toBe(404);
    let rows: AccessRow[] = [];
    for (let i = 0; i < 50 && rows.length === 0; i++) {
      rows = await t.sql<AccessRow>(
        `SELECT stream_id, data FROM ledger.events WHERE type = 'AuditDataAccessed'
            AND data->>'route' = 'GET /v1/approvals/:approvalId' AND data->'params'->>'approvalId' = $1`,
        [missing],
      );
      if (rows.length === 0) await sleep(50);
    }
    expect(rows[0]?.data).toMatchObject({ actor: t.credentials.actors.all, status: 404 });
  });

  it('does not record writes', async () => {
    const [{ n }] = (await t.sql<{ n: string }>(
      `SELECT count(*)::text AS n FROM ledger.events WHERE type = 'AuditDataAccessed' AND data->>'route' LIKE 'POST%'`,
    )) as [{ n: string }];
    expect(n).toBe('0');
  });
});
