import { MESSAGE_PATTERNS } from '@audit-ledger/domain';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { advisoryLockKey } from '../../../libs/read-models/src/index.js';
import { anExecution } from '../../../test/support/fixtures.js';
import {
  startLedgerUnderTest,
  TEST_PAYLOAD_MASTER_KEY,
  type LedgerUnderTest,
} from '../../../test/support/ledger-app.js';
import { within } from '../../../test/support/within.js';
import { runLedgerBin } from './support/run-bin.js';

const DAY = 86_400_000;
const daysAgo = (days: number): string => new Date(Date.now() - days * DAY).toISOString();

/** Executions started `days` ago (their `startedAt`), logged over TCP in a session of their own. */
async function logExecutions(t: LedgerUnderTest, startedDaysAgo: number[]): Promise<void> {
  for (const days of startedDaysAgo) {
    const startedAt = daysAgo(days);
    await t.send(
      MESSAGE_PATTERNS.logExecution,
      anExecution({ sessionId: 'S-retention', startedAt, finishedAt: startedAt }),
    );
  }
}

async function projected(sql: pg.Client, executions: number): Promise<void> {
  await within(30_000, `${executions} executions in the read model`, async () => {
    const { rows } = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM read_models.executions');
    return rows[0]?.n === executions ? true : undefined;
  });
}

const eventsFingerprint = async (sql: pg.Client): Promise<unknown> =>
  (
    await sql.query(
      `SELECT count(*)::int AS events, md5(string_agg(hash, '' ORDER BY global_position)) AS digest FROM ledger.events`,
    )
  ).rows[0];

/** `ledger projections trim` (the built bin, a child process) against the database of a running ledger. */
describe('ledger projections trim', () => {
  let t: LedgerUnderTest;
  let workDir: string;
  let sql: pg.Client;
  const bin = (
    args: string[],
    env: Record<string, string> = { DATABASE_URL: t.database.url, LEDGER_PAYLOAD_MASTER_KEY: TEST_PAYLOAD_MASTER_KEY },
  ) => runLedgerBin(['projections', ...args], { cwd: workDir, env });

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'ledger-trim-'));
    // the ledger keeps everything itself: what is trimmed here, the command trims
    t = await startLedgerUnderTest({ dataDir: workDir, readModelRetentionDays: 0 });
    sql = new pg.Client({ connectionString: t.database.url });
    await sql.connect();
    await logExecutions(t, [200, 120, 30, 1]);
    await projected(sql, 4);
  }, 60_000);
  afterAll(async () => {
    await sql?.end();
    await t?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('given executions older and newer than the window, when `trim --days 90 --json` runs, then it deletes the old rows only, says so, and the events stay', async () => {
    const events = await eventsFingerprint(sql);
    const run = await bin(['trim', '--days', '90', '--json']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(run.stdout)).toMatchObject({ ran: true, trimmed: { executions: 2 } });
    const { rows } = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM read_models.executions');
    expect(rows[0]!.n).toBe(2);
    expect(await eventsFingerprint(sql)).toEqual(events);
  });

  it('given another process trimming, when it runs, then it does nothing and says so', async () => {
    await logExecutions(t, [150]);
    await projected(sql, 3);
    const other = new pg.Client({ connectionString: t.database.url });
    await other.connect();
    try {
      await other.query('SELECT pg_advisory_lock($1::bigint)', [advisoryLockKey('retention')]);
      const run = await bin(['trim', '--days', '90']);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout).toContain('another process is trimming now: nothing done here');
      await projected(sql, 3);
    } finally {
      await other.end();
    }
    const run = await bin(['trim', '--days', '90']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^trimmed rows before \S+: executions 1, reconciliation_verdicts 0, mismatches 0\n$/);
  });

  it('given a trimmed history, when the read models are rebuilt, then the rebuild trims them again to the same cut', async () => {
    const run = await bin(['rebuild']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/trimmed again what retention had trimmed before \S+: executions 3,/);
    await projected(sql, 2);
  });

  it('given bad or no days, then it exits 2; given 0 days, it trims nothing', async () => {
    expect((await bin(['trim', '--days', 'soon'])).code).toBe(2);
    const off = await bin(['trim', '--days', '0']);
    expect(off).toMatchObject({ code: 0, stdout: 'retention is off (0 days): nothing trimmed\n' });
    const run = await bin(['trim'], { DATABASE_URL: '' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no database: pass --database-url or set DATABASE_URL');
  });
});

/** The ledger's own scheduled job, next to its projections. */
describe('the ledger trims its read models on a schedule', () => {
  let t: LedgerUnderTest;
  let workDir: string;
  let sql: pg.Client;

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'ledger-retention-'));
    t = await startLedgerUnderTest({ dataDir: workDir, readModelRetentionDays: 90, retentionIntervalMs: 1000 });
    sql = new pg.Client({ connectionString: t.database.url });
    await sql.connect();
  }, 60_000);
  afterAll(async () => {
    await sql?.end();
    await t?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('given executions older than LEDGER_READ_MODEL_RETENTION_DAYS, then the job deletes their rows and /health says what it trimmed', async () => {
    await logExecutions(t, [300, 2]);
    await within(30_000, 'the old execution to be trimmed', async () => {
      const { rows } = await sql.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM read_models.executions WHERE started_at < now() - interval '90 days'",
      );
      const { rows: all } = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM read_models.executions');
      return rows[0]?.n === 0 && all[0]?.n === 1 ? true : undefined;
    });
    const { rows } = await sql.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM ledger.events WHERE type = 'ExecutionLogged'",
    );
    expect(rows[0]!.n).toBe(2);
    // The job reports its run once its deletes are done: wait for the report, not only for the rows to go.
    const health = await within(30_000, 'the retention run to be reported in /health', async () => {
      const answer = await t.http('GET', '/health');
      const body = answer.body as { projections?: { retention?: { lastRunAt?: string | null } } };
      return body.projections?.retention?.lastRunAt ? answer : undefined;
    });
    expect(health).toMatchObject({
      status: 200,
      body: { projections: { retention: { enabled: true, retentionDays: 90, lastRunAt: expect.any(String) } } },
    });
  });
});
