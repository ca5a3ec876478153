import { MESSAGE_PATTERNS } from '@audit-ledger/domain';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { dumpReadModels, READ_MODEL_TABLES } from '../../../libs/read-models/test/generated-history.js';
import { anApproval, anExecution } from '../../../test/support/fixtures.js';
import {
  startLedgerUnderTest,
  TEST_PAYLOAD_MASTER_KEY,
  type LedgerUnderTest,
} from '../../../test/support/ledger-app.js';
import { within } from '../../../test/support/within.js';
import { runLedgerBin } from './support/run-bin.js';

/**
 * `ledger projections rebuild` (the built bin, a child process) against the database of a running ledger with
 * reconciliation on, while commands keep arriving over TCP: the history comes through the real command path and
 * the reconciliation saga, so verdict events interleave as in production.
 */
describe('ledger projections rebuild, next to a running ledger', () => {
  let t: LedgerUnderTest;
  let workDir: string;
  let sql: pg.Client;
  // The rebuild opens sealed fields with the ledger's payload master key.
  const rebuild = (
    args: string[],
    env: Record<string, string> = { DATABASE_URL: t.database.url, LEDGER_PAYLOAD_MASTER_KEY: TEST_PAYLOAD_MASTER_KEY },
  ) => runLedgerBin(['projections', 'rebuild', ...args], { cwd: workDir, env });

  let executions = 0;
  const approvals: string[] = [];
  const logOne = async (n: number): Promise<void> => {
    const approvalId = approvals[n % approvals.length]!;
    // every third command was not approved: the reconciler records a mismatch for it
    await t.send(
      MESSAGE_PATTERNS.logExecution,
      anExecution({
        approvalId,
        workerId: `w${n % 3}`,
        toolName: n % 2 ? 'shell' : 'kubectl',
        command: n % 3 === 0 ? 'docker compose down' : 'docker compose ps',
        exitCode: n % 4 === 0 ? 1 : 0,
      }),
    );
    executions += 1;
  };

  /** Until the reconciler and the three projections have handled everything appended so far. */
  const settled = async (): Promise<void> => {
    await within(30_000, 'the reconciler and the projections to handle every event', async () => {
      const { rows } = await sql.query<{ ok: boolean }>(
        `SELECT (SELECT count(*) FROM ledger.events WHERE type = 'ExecutionLogged')
                  = (SELECT count(*) FROM ledger.events
                      WHERE type IN ('ExecutionReconciled', 'MismatchDetected', 'ReconciliationUnclear'))
            AND (SELECT min(position) FROM read_models.projection_checkpoints)
                  >= (SELECT max(global_position) FROM ledger.events
                       WHERE stream_id LIKE 'approval-%' OR stream_id LIKE 'session-%') AS ok`,
      );
      return rows[0]?.ok === true ? true : undefined;
    });
  };

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'ledger-rebuild-'));
    t = await startLedgerUnderTest({ dataDir: workDir, reconciliationEnabled: true });
    sql = new pg.Client({ connectionString: t.database.url });
    await sql.connect();
    for (let a = 0; a < 8; a++) {
      const approval = anApproval({
        riskLevel: a % 2 ? 'safe' : 'destructive',
        requestedBy: { workerId: `w${a % 3}` },
      });
      await t.send(MESSAGE_PATTERNS.grantApproval, approval);
      approvals.push(approval.approvalId);
    }
    for (let n = 0; n < 40; n++) await logOne(n);
    await settled();
  }, 60_000);
  afterAll(async () => {
    await sql?.end();
    await t?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('given commands arriving during the rebuild, when `rebuild executions` runs, then it rebuilds the three projections that share tables, exits 0, and afterwards every execution is in the read model exactly once', async () => {
    let sending = true;
    let n = 1000;
    const sender = (async () => {
      while (sending) {
        await logOne(n++);
        await sleep(15);
      }
    })();
    const run = await rebuild(['executions']).finally(() => (sending = false));
    await sender;

    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain(
      'rebuilding approvals, executions, reconciliation (executions shares tables with approvals, reconciliation, ' +
        'so they are rebuilt with it)',
    );
    expect(run.stdout).toMatch(/built from position 0: \d+ events read/);
    expect(run.stdout).toMatch(/swapped in at approvals@\d+, executions@\d+, reconciliation@\d+; rows: /);
    expect(run.stdout).toContain('done:');
    expect(n).toBeGreaterThan(1000); // commands did arrive while it ran

    await settled();
    const { rows } = await sql.query<Record<string, number>>(
      `SELECT (SELECT count(*)::int FROM read_models.executions) AS rows,
              (SELECT count(DISTINCT execution_id)::int FROM read_models.executions) AS distinct_rows,
              (SELECT sum(executions)::int FROM read_models.daily_summaries) AS summed,
              (SELECT sum(execution_count)::int FROM read_models.approvals) AS per_approval,
              (SELECT count(*)::int FROM read_models.executions WHERE reconciliation_verdict IS NULL) AS without_verdict,
              (SELECT count(*)::int FROM read_models.mismatches) AS mismatches`,
    );
    const { rows: events } = await sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ledger.events WHERE type = 'MismatchDetected'`,
    );
    expect(rows[0]).toEqual({
      rows: executions,
      distinct_rows: executions,
      summed: executions,
      per_approval: executions,
      without_verdict: 0,
      mismatches: events[0]!.n,
    });
    expect(events[0]!.n).toBeGreaterThan(0);
    const health = await t.http('GET', '/health');
    expect(health).toMatchObject({ status: 200, body: { projections: { healthy: true } } });

    // The live rows the running ledger went on projecting equal a rebuild with nothing arriving.
    const live = await dumpReadModels(sql);
    expect((await rebuild([])).code).toBe(0);
    const rebuilt = await dumpReadModels(sql);
    for (const table of READ_MODEL_TABLES)
      expect({ table, rows: rebuilt[table] }).toEqual({ table, rows: live[table] });
  }, 90_000);

  it('given an unknown projection name, then it exits 2 and lists the known ones', async () => {
    const run = await rebuild(['approvalz']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown projection approvalz');
    expect(run.stderr).toContain('known projections: approvals, executions, reconciliation');
    expect(run.stdout).toBe('');
  });

  it('given no database, then it exits 2 and says how to name one', async () => {
    const run = await rebuild(['approvals'], { DATABASE_URL: '' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no database: pass --database-url or set DATABASE_URL');
  });
});
