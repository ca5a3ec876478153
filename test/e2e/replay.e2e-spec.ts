import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';

interface Replay {
  streamId: string;
  eventCount: number;
  chainIntact: boolean;
  events: { type: string; globalPosition: string; hashStatus: string }[];
  state: { status: string; active: boolean; executions: string[]; revokedAt?: string };
}

const run = promisify(execFile);
const cli = join(process.cwd(), 'apps/cli/bin/ledger.js');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Issue 6 item 4: replay as of a moment before a revocation shows the approval active; after it, revoked. */
describe('forensic replay', () => {
  let t: LedgerUnderTest;
  const approval = anApproval();
  const stream = `approval-${approval.approvalId}`;
  let beforeRevocation = '';

  beforeAll(async () => {
    t = await startLedgerUnderTest({ checkpointsEnabled: false });
    expect((await t.http('POST', '/v1/approvals', approval)).status).toBe(201);
    expect((await t.http('POST', '/v1/executions', anExecution({ approvalId: approval.approvalId }))).status).toBe(201);
    await sleep(20);
    beforeRevocation = new Date().toISOString();
    await sleep(20);
    expect(
      (await t.http('POST', `/v1/approvals/${approval.approvalId}/revoke`, { by: 'bob', reason: 'done' })).status,
    ).toBe(201);
  });

  afterAll(async () => {
    await t?.stop();
  });

  it('shows the approval active as of a time before the revocation', async () => {
    const { status, body } = await t.http('GET', `/v1/streams/${stream}/events?asOf=${beforeRevocation}`);
    expect(status).toBe(200);
    const replay = body as Replay;
    expect(replay.events.map((e) => e.type)).toEqual(['ApprovalGranted', 'ExecutionLogged']);
    expect(replay.events.every((e) => e.hashStatus === 'ok')).toBe(true);
    expect(replay.state).toMatchObject({ status: 'granted', active: true });
    expect(replay.state.executions).toHaveLength(1);
  });

  it('shows it revoked after the revocation, and as of a position', async () => {
    const now = (await t.http('GET', `/v1/streams/${stream}/events?asOf=${new Date().toISOString()}`)).body as Replay;
    expect(now.state).toMatchObject({ status: 'revoked', active: false });
    expect(now.chainIntact).toBe(true);
    const grant = now.events[0]!.globalPosition;
    const atGrant = (await t.http('GET', `/v1/streams/${stream}/events?asOf=${grant}`)).body as Replay;
    expect(atGrant.eventCount).toBe(1);
    expect(atGrant.state).toMatchObject({ status: 'granted', executions: [] });
  });

  it('refuses a malformed asOf and answers 404 for a missing stream', async () => {
    expect((await t.http('GET', `/v1/streams/${stream}/events?asOf=yesterday`)).status).toBe(400);
    expect((await t.http('GET', '/v1/streams/approval-none/events')).status).toBe(404);
  });

  it('ledger replay approval prints the same through HTTP', async () => {
    const port = String(t.ledger.httpPort);
    const before = await run(process.execPath, [
      cli,
      '--api-key',
      t.credentials.security,
      '--http-port',
      port,
      'replay',
      'approval',
      approval.approvalId,
      '--as-of',
      beforeRevocation,
    ]);
    expect(before.stdout).toContain('state: granted (active)');
    expect(before.stdout).toContain('hash chain: intact');
    const after = await run(process.execPath, [
      cli,
      '--api-key',
      t.credentials.security,
      '--http-port',
      port,
      'replay',
      'approval',
      approval.approvalId,
      '--json',
    ]);
    expect((JSON.parse(after.stdout) as Replay).state.status).toBe('revoked');
  });
});
