/**
 * `npm run bench:dashboard` (also run by `npm run bench`): the data latency of every page of the dashboard (issue 15)
 * on a million executions. A fresh database is seeded in SQL (`seedDashboardData`, plus approval timings here), the
 * ledger is started on it as `npm start` runs it, a real approval with a few executions is appended through the API
 * (for the forensic replay), and every request a page sends is timed over HTTP. Target: p95 under 1 s per request.
 */
import { localKeyFor } from '@audit-ledger/client';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { seedDashboardData, type SeedResult } from './dashboard-seed.js';
import { benchDatabase, spawnBenchLedger } from './environment.js';
import { machineLine } from './machine.js';
import { writeReportSection } from './report-section.js';
import { latencyStats, ms, type LatencyStats } from './stats.js';

const PAGE_TARGET_MS = 1000;
const EXECUTIONS = Number(process.env.BENCH_DASHBOARD_EXECUTIONS ?? 1_000_000);
const DAYS = 90;
const RUNS = Number(process.env.BENCH_DASHBOARD_PAGE_RUNS ?? 30);
const WARM_UP_RUNS = 3;
/** A request that is slow stops being sampled after this much time of its own. */
const BUDGET_MS_PER_REQUEST = 15_000;
const DAY_MS = 86_400_000;

interface PageRequest {
  page: string;
  path: string;
  caller: 'reader' | 'security';
}

/** Every request the pages send, with ids from the seeded history (the newest approval and session, a busy worker). */
function pageRequests(now: Date, ids: { approval: string; session: string; worker: string; stream: string }) {
  const iso = (ms: number) => new Date(now.getTime() - ms).toISOString();
  const days30 = iso(30 * DAY_MS);
  const days7 = iso(7 * DAY_MS);
  const requests: PageRequest[] = [
    { page: 'shell', path: '/v1/whoami', caller: 'reader' },
    { page: 'overview', path: `/v1/dashboard/overview?from=${days30}&bucket=day`, caller: 'reader' },
    { page: 'overview', path: `/v1/dashboard/overview?from=${iso(DAY_MS)}&bucket=hour`, caller: 'reader' },
    { page: 'overview', path: `/v1/dashboard/overview?from=${iso(90 * DAY_MS)}&bucket=day`, caller: 'reader' },
    { page: 'overview', path: '/v1/integrity', caller: 'reader' },
    { page: 'approvals', path: `/v1/approvals?from=${days30}&limit=50`, caller: 'reader' },
    {
      page: 'approvals',
      path: `/v1/approvals?from=${days30}&status=mismatch&riskLevel=critical&limit=50`,
      caller: 'reader',
    },
    {
      page: 'approvals',
      path: `/v1/approvals?workerId=${ids.worker}&approverVerified=false&limit=50`,
      caller: 'reader',
    },
    { page: 'approvals', path: `/v1/approvals?from=${days7}&q=terraform&limit=50`, caller: 'reader' },
    { page: 'approval', path: `/v1/approvals/${ids.approval}`, caller: 'reader' },
    { page: 'approval', path: `/v1/executions?approvalId=${ids.approval}&order=asc&limit=50`, caller: 'reader' },
    { page: 'approval', path: `/v1/mismatches?approvalId=${ids.approval}&limit=50`, caller: 'reader' },
    { page: 'executions', path: `/v1/executions?from=${days30}&limit=50`, caller: 'reader' },
    {
      page: 'executions',
      path: `/v1/executions?from=${days30}&workerId=${ids.worker}&status=failure&limit=50`,
      caller: 'reader',
    },
    { page: 'executions', path: `/v1/executions?from=${days7}&q=terraform&limit=50`, caller: 'reader' },
    { page: 'sessions', path: `/v1/sessions?from=${days30}&limit=50`, caller: 'reader' },
    { page: 'session', path: `/v1/sessions/${ids.session}`, caller: 'reader' },
    { page: 'session', path: `/v1/executions?sessionId=${ids.session}&limit=50`, caller: 'reader' },
    { page: 'session', path: `/v1/approvals?sessionId=${ids.session}&limit=50`, caller: 'reader' },
    { page: 'mismatches', path: `/v1/mismatches?from=${days30}&limit=50`, caller: 'reader' },
    { page: 'mismatches', path: `/v1/mismatches?severity=high&status=open&limit=50`, caller: 'reader' },
    { page: 'mismatches', path: `/v1/mismatches?sessionId=${ids.session}&limit=50`, caller: 'reader' },
    { page: 'mismatches', path: `/v1/mismatches?workerId=${ids.worker}&limit=50`, caller: 'reader' },
    { page: 'mismatches', path: `/v1/mismatches?kind=target_changed&from=${days7}&limit=50`, caller: 'reader' },
    { page: 'forensics', path: `/v1/streams/${ids.stream}/events?asOf=${now.toISOString()}`, caller: 'security' },
    { page: 'forensics', path: `/v1/evidence?streamId=${ids.stream}`, caller: 'security' },
    { page: 'export', path: `/v1/executions/export?format=csv&sessionId=${ids.session}`, caller: 'reader' },
    { page: 'export', path: `/v1/approvals/export?format=csv&sessionId=${ids.session}`, caller: 'reader' },
    { page: 'export', path: `/v1/mismatches/export?format=csv&workerId=${ids.worker}&from=${days7}`, caller: 'reader' },
  ];
  return requests;
}

interface Result {
  request: PageRequest;
  latency: LatencyStats;
  bytes: number;
}

async function timed(url: string, credential: string): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  const response = await fetch(url, { headers: { authorization: `Bearer ${credential}` } });
  const text = await response.text();
  const elapsed = performance.now() - started;
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${text.slice(0, 500)}`);
  return { ms: elapsed, bytes: text.length };
}

async function healthy(base: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const ok = await fetch(`${base}/health`).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    await sleep(100);
  }
  throw new Error('the ledger did not become healthy');
}

/** How long humans took to approve, for a third of the seeded approvals (the seed leaves it out). */
async function seedApprovalTimes(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('ALTER TABLE read_models.approvals DISABLE TRIGGER approvals_reconciliation');
    await client.query(
      `UPDATE read_models.approvals
          SET requested_at = granted_at - t * interval '1 millisecond', granted_occurred_at = granted_at,
              approval_time_ms = t
         FROM (SELECT approval_id AS id, (exp(8 + 3 * random()))::bigint AS t FROM read_models.approvals
                WHERE hashtext(approval_id) % 3 = 0) x
        WHERE approval_id = x.id`,
    );
    await client.query('ALTER TABLE read_models.approvals ENABLE TRIGGER approvals_reconciliation');
    await client.query('VACUUM ANALYZE read_models.approvals');
    await client.query('ANALYZE read_models.session_summaries');
  } finally {
    await client.end();
  }
}

/** The approval and session of the newest seeded mismatch: a page that has something to show. */
async function newestMismatching(databaseUrl: string): Promise<{ approval: string; session: string }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ approval_id: string; session_id: string }>(
      `SELECT approval_id, session_id FROM read_models.mismatches WHERE approval_id LIKE 'appr-%'
        ORDER BY detected_at DESC LIMIT 1`,
    );
    return { approval: rows[0]!.approval_id, session: rows[0]!.session_id };
  } finally {
    await client.end();
  }
}

/** A real approval stream (grant and five executions through the HTTP API): what forensics replays. */
async function appendRealApproval(base: string, gatewayKey: string, now: Date): Promise<string> {
  const approvalId = `bench-${now.getTime()}`;
  const post = async (path: string, body: unknown) => {
    const response = await fetch(base + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${gatewayKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
  };
  await post('/v1/approvals', {
    approvalId,
    instruction: 'restart the api',
    approvedCommands: ['systemctl restart api'],
    riskLevel: 'moderate',
    approvedBy: 'operator@example.com',
    requestedBy: { workerId: 'worker-7', agentId: 'agent-1', sessionId: 'bench-session' },
  });
  for (let i = 0; i < 5; i++) {
    const at = new Date(now.getTime() - (5 - i) * 1000);
    await post('/v1/executions', {
      executionId: `${approvalId}-x${i}`,
      approvalId,
      workerId: 'worker-7',
      command: 'systemctl restart api',
      output: 'ok\n',
      exitCode: 0,
      startedAt: at.toISOString(),
      finishedAt: new Date(at.getTime() + 200).toISOString(),
    });
  }
  return `approval-${approvalId}`;
}

export async function dashboardPagesBench(): Promise<void> {
  const database = await benchDatabase();
  const now = new Date();
  let seed: SeedResult;
  const results: Result[] = [];
  try {
    // Seeded positions far above the real events appended below (the forensics stream), which the projections apply.
    seed = await seedDashboardData(database.url, { executions: EXECUTIONS, days: DAYS, now, positionOffset: 1e12 });
    await seedApprovalTimes(database.url);
    process.stdout.write(
      `seeded ${seed.executions} executions, ${seed.approvals} approvals, ${seed.mismatches} mismatches in ${seed.seconds.toFixed(1)} s\n`,
    );
    const ledger = await spawnBenchLedger(database.url);
    try {
      const base = `http://127.0.0.1:${ledger.httpPort}`;
      await healthy(base);
      const keys = {
        reader: localKeyFor(ledger.dataDir, 'reader') ?? localKeyFor(ledger.dataDir, 'security')!,
        security: localKeyFor(ledger.dataDir, 'security')!,
      };
      const stream = await appendRealApproval(base, localKeyFor(ledger.dataDir, 'gateway')!, now);
      const ids = { ...(await newestMismatching(database.url)), worker: 'worker-7', stream };
      const requests = pageRequests(now, ids);
      for (let i = 0; i < WARM_UP_RUNS; i++) {
        for (const request of requests) await timed(base + request.path, keys[request.caller]);
      }
      const samples = requests.map(() => [] as number[]);
      const bytes = requests.map(() => 0);
      const spent = requests.map(() => 0);
      // Interleaved, so that a noisy moment on the machine hits every request alike.
      for (let run = 0; run < RUNS; run++) {
        for (const [i, request] of requests.entries()) {
          if (spent[i]! > BUDGET_MS_PER_REQUEST) continue;
          const answer = await timed(base + request.path, keys[request.caller]);
          spent[i]! += answer.ms;
          samples[i]!.push(answer.ms);
          bytes[i] = answer.bytes;
        }
      }
      for (const [i, request] of requests.entries()) {
        results.push({ request, latency: latencyStats(samples[i]!), bytes: bytes[i]! });
      }
    } finally {
      await ledger.stop();
    }
  } finally {
    await database.close();
  }
  report(results, seed, database.label);
}

function report(results: Result[], seed: SeedResult, databaseLabel: string): void {
  const shown = (path: string) =>
    path
      .replace(/\d{4}-\d{2}-\d{2}T[\d:.]+Z/g, '<time>')
      .replace(/bench-\d+/g, '<id>')
      .replace(/\|/g, '\\|');
  const header = '| page | request | answer bytes | runs | p50 ms | p95 ms | max ms | p95 under 1 s |';
  const lines = results.map(
    (r) =>
      `| ${r.request.page} | \`GET ${shown(r.request.path)}\` | ${r.bytes} | ${r.latency.count} | ${ms(r.latency.p50)} | ${ms(r.latency.p95)} | ${ms(r.latency.max)} | ${r.latency.p95 < PAGE_TARGET_MS ? 'yes' : '**no**'} |`,
  );
  const table = [header, '|---|---|---:|---:|---:|---:|---:|---|', ...lines].join('\n');
  const met = results.length > 0 && results.every((r) => r.latency.p95 < PAGE_TARGET_MS);
  const worst = results.reduce((a, b) => (b.latency.p95 > a.latency.p95 ? b : a));
  const markdown = `## Dashboard pages

Written by \`npm run bench:dashboard\` (also part of \`npm run bench\`) on ${new Date().toISOString()}. ${machineLine()}.
Database: ${databaseLabel}.

The same seeded read models as "Dashboard queries" (${seed.executions.toLocaleString('en')} executions over ${DAYS} days,
${seed.approvals.toLocaleString('en')} approvals, ${seed.mismatches.toLocaleString('en')} mismatches, session summaries
and summary rollups, \`bench/src/dashboard-seed.ts\`), plus how long humans took to approve a third of the approvals;
then the ledger starts on it as \`npm start\` runs it, one real approval with five executions is appended through the
API (what the forensics page replays and bundles), and every request each page of the dashboard (issue 15) sends for
its data is timed over HTTP, ${RUNS} times after ${WARM_UP_RUNS} warm-up rounds, one at a time, interleaved. Latency is
from sending the request to having read the whole answer (exports: the whole file), including authentication,
validation, the read position and the \`AuditDataAccessed\` event each read records. Ids are the approval and session
of the newest seeded mismatch and a busy worker; \`<time>\` is 1, 7, 30 or 90 days before the run.

${table}

| target | met |
|---|---|
| every page request's data under ${PAGE_TARGET_MS} ms (p95) on ${seed.executions.toLocaleString('en')} executions | ${met ? 'yes' : 'no'} (slowest p95: ${worst.request.page}, ${ms(worst.latency.p95)} ms) |

The ledger, PostgreSQL and the benchmark share the machine's cores.
`;
  writeReportSection('dashboard-pages', markdown);
  process.stdout.write(
    `\n${table}\n\ndashboard page target ${met ? 'met' : 'not met'}; written to docs/benchmarks.md\n`,
  );
}
