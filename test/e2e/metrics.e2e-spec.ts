import { MESSAGE_PATTERNS } from '@audit-ledger/domain';
import { readFileSync } from 'node:fs';
import type { EventRow } from '../support/event-rows.js';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';
import { within } from '../support/within.js';

/** `name{labels} value` lines of a Prometheus exposition, keyed by `name{labels}` (labels as written). */
function parseExposition(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    series.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return series;
}

/** The sum of every series of `name` whose labels include each of `labels` (`key="value"`). */
const total = (series: Map<string, number>, name: string, ...labels: string[]) =>
  [...series]
    .filter(([key]) => (key === name || key.startsWith(`${name}{`)) && labels.every((label) => key.includes(label)))
    .reduce((sum, [, value]) => sum + value, 0);

/**
 * Issue 16, item 1: `/metrics` exposes the ledger's series (Prometheus text format) to a reader, and they move when
 * the ledger works. Item 4: a request id travels from the HTTP request into the event's metadata.
 */
describe('Prometheus metrics and request ids', () => {
  let t: LedgerUnderTest;

  beforeAll(async () => {
    t = await startLedgerUnderTest({ reconciliationEnabled: true, checkpointEveryEvents: 2, checkpointEveryMs: 50 });
  });
  afterAll(() => t.stop());

  const scrape = async () => {
    const response = await fetch(`http://127.0.0.1:${t.ledger.httpPort}/metrics`, { headers: t.headers('reader') });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseExposition(await response.text());
  };
  const eventsOf = (streamId: string) =>
    t.sql<EventRow>('SELECT * FROM ledger.events WHERE stream_id = $1 ORDER BY stream_revision', [streamId]);

  it('given no credential or a gateway key, when /metrics is scraped, then 401 and 403', async () => {
    const url = `http://127.0.0.1:${t.ledger.httpPort}/metrics`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: t.headers('gateway') })).status).toBe(403);
  });

  it('given a scrape, when commands, refusals, verdicts, checkpoints and a verification happen, then their series move', async () => {
    const before = await scrape();

    const approval = anApproval();
    await t.send(MESSAGE_PATTERNS.grantApproval, approval);
    const matching = await t.http('POST', '/v1/executions', anExecution({ approvalId: approval.approvalId }));
    expect(matching.status).toBe(201);
    await t.send(
      MESSAGE_PATTERNS.logExecution,
      anExecution({ approvalId: approval.approvalId, command: 'rm -rf /var/lib/docker' }),
    );
    await expect(t.send(MESSAGE_PATTERNS.logExecution, { executionId: 'not enough' })).rejects.toMatchObject({
      error: { code: 'VALIDATION.FAILED' },
    });
    expect((await t.http('GET', '/v1/integrity', undefined, undefined, { credential: null })).status).toBe(401);
    const stream = `approval-${approval.approvalId}`;
    await within(10_000, 'two verdicts', async () =>
      (await eventsOf(stream)).filter((row) => ['ExecutionReconciled', 'MismatchDetected'].includes(row.type))
        .length === 2
        ? true
        : undefined,
    );
    await within(10_000, 'a sealed checkpoint and its verification', async () => {
      const integrity = await t.http('GET', '/v1/integrity');
      return (integrity.body as { lastCheckpoint?: unknown } | undefined)?.lastCheckpoint ? true : undefined;
    });

    const after = await within(10_000, 'the projections and verdicts in the metrics', async () => {
      const now = await scrape();
      const moved =
        total(now, 'ledger_reconciliation_verdicts_total') - total(before, 'ledger_reconciliation_verdicts_total') >=
          2 &&
        total(now, 'ledger_projection_position') > total(before, 'ledger_projection_position') &&
        total(now, 'ledger_checkpoint_seals_total') > total(before, 'ledger_checkpoint_seals_total');
      return moved ? now : undefined;
    });
    const grew = (name: string, ...labels: string[]) =>
      expect({ name, labels, grew: total(after, name, ...labels) > total(before, name, ...labels) }).toEqual({
        name,
        labels,
        grew: true,
      });
    grew('ledger_appends_total', 'outcome="appended"');
    grew('ledger_appended_events_total');
    grew('ledger_append_duration_seconds_count');
    grew('ledger_append_batch_events_count');
    grew('ledger_command_acks_total', 'transport="tcp"');
    grew('ledger_command_acks_total', 'transport="http"');
    grew('ledger_refusals_total', 'kind="validation"', 'code="VALIDATION.FAILED"', 'transport="tcp"');
    grew('ledger_auth_refusals_total', 'code="AUTH.UNAUTHENTICATED"', 'entrance="http"');
    grew('ledger_reconciliation_verdicts_total', 'verdict="match"');
    grew('ledger_reconciliation_verdicts_total', 'verdict="mismatch"');
    grew('ledger_reconciliation_verdict_latency_seconds_count');
    grew('ledger_checkpoint_seals_total');
    grew('ledger_verification_runs_total', 'result="ok"');
    grew('ledger_alerts_sent_total');
    for (const name of [
      'ledger_projection_lag_events',
      'ledger_projection_errors',
      'ledger_projection_parked_events',
      'ledger_alerts_retried_total',
      'ledger_alerts_dead_lettered_total',
      'ledger_pg_pool_connections{state="idle"}',
      'ledger_pg_pool_connections{state="waiting"}',
      'ledger_nodejs_eventloop_lag_seconds',
    ]) {
      expect({ name, exposed: [...after.keys()].some((key) => key.startsWith(name)) }).toEqual({ name, exposed: true });
    }
  });

  it('given the workload above, then every series the Grafana dashboard in deploy/ queries is exposed', async () => {
    const dashboard = readFileSync(
      new URL('../../deploy/grafana/audit-ledger-dashboard.json', import.meta.url),
      'utf8',
    );
    const queried = new Set([...dashboard.matchAll(/\b(ledger_\w+?)(?:_bucket|_sum|_count)?\{/g)].map((m) => m[1]!));
    const exposed = new Set(
      [...(await scrape()).keys()].map((key) => key.replace(/(_bucket|_sum|_count)?(\{.*)?$/, '')),
    );
    expect(queried.size).toBeGreaterThan(15);
    expect([...queried].filter((name) => !exposed.has(name))).toEqual([]);
  });

  it('given an X-Request-Id, when a command is sent over HTTP, then the reply and the event carry it; a message gets one of its own', async () => {
    const approval = anApproval();
    const response = await fetch(`http://127.0.0.1:${t.ledger.httpPort}/v1/approvals`, {
      method: 'POST',
      headers: { ...t.headers('gateway'), 'content-type': 'application/json', 'x-request-id': 'req-ops-42' },
      body: JSON.stringify(approval),
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-request-id')).toBe('req-ops-42');
    const execution = anExecution({ approvalId: approval.approvalId });
    await t.send(MESSAGE_PATTERNS.logExecution, execution);

    const rows = await eventsOf(`approval-${approval.approvalId}`);
    expect(rows.find((row) => row.type === 'ApprovalGranted')?.metadata).toMatchObject({ requestId: 'req-ops-42' });
    expect(rows.find((row) => row.type === 'ExecutionLogged')?.metadata).toMatchObject({
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
  });
});
