import { archiveThroughputBench } from './archive-throughput.js';
import { PostgresEventStore } from '@audit-ledger/event-store';
import { type ClientProxy } from '@nestjs/microservices';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { benchDatabase, spawnBenchLedger, type BenchLedger } from './environment.js';
import { writeReport, type BenchRow } from './report.js';
import { latencyStats } from './stats.js';
import { benchLedgerKeys, verificationThroughput, type BenchKeys, type VerificationResult } from './verification.js';
import { authenticationBench } from './auth-overhead.js';
import { dashboardPagesBench } from './dashboard-pages.js';
import { dashboardQueriesBench } from './dashboard-queries.js';
import {
  benchGatewayKey,
  closedLoopExecutions,
  grantBenchApprovals,
  pacedExecutions,
  tcpClients,
} from './ledger-clients.js';
import { commandPathBench } from './command-path.bench.js';
import { peerComparisonBench } from './peer-comparison.js';
import { projectionLagBench } from './projection-lag.js';
import { firstAlertLatencyBench } from './first-alert-latency.js';
import { workersCpuBench } from './workers-cpu.js';
import { execution } from './workload.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const VERIFY_RUNS = 3;

/** Open loop at a fixed rate: latency counts from the scheduled send time, so a stall is not hidden. */
async function paced(clients: ClientProxy[], ratePerSecond: number, seconds: number, label: string): Promise<BenchRow> {
  const run = await pacedExecutions(clients, ratePerSecond, seconds);
  return {
    scenario: `ledger (${label}), TCP, ${clients.length} clients paced at ${ratePerSecond}/s`,
    eventsPerSecond: run.sent / run.seconds,
    latency: latencyStats(run.latencies),
  };
}

/** Closed loop: each client sends its next execution when the previous one is acknowledged. */
async function saturate(clients: ClientProxy[], seconds: number, label = 'warm-up'): Promise<BenchRow> {
  const run = await closedLoopExecutions(clients, seconds);
  return {
    scenario: `ledger (${label}), TCP, ${clients.length} clients closed loop`,
    eventsPerSecond: run.eventsPerSecond,
    latency: latencyStats(run.latencies),
  };
}

/**
 * The PostgreSQL event store alone, in this process, with no transport or command handling in front: `concurrency`
 * callers each append an execution-sized event and wait for its durable acknowledgement before the next. It tells the
 * store's share of the ledger's cost from the rest.
 */
async function storeAlone(databaseUrl: string, seconds: number, concurrency: number): Promise<BenchRow> {
  const store = await PostgresEventStore.connect({ connectionString: databaseUrl });
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  let n = 0;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < deadline) {
          const record = execution(n, n++);
          const sent = performance.now();
          await store.appendToStream(
            `approval-${record.approvalId!}`,
            [
              {
                eventId: record.executionId,
                type: 'ExecutionLogged',
                data: { ...record },
                metadata: { actor: 'bench' },
              },
            ],
            { expectedRevision: 'any' },
          );
          latencies.push(performance.now() - sent);
        }
      }),
    );
  } finally {
    await store.close();
  }
  const elapsed = (performance.now() - start) / 1000;
  return {
    scenario: `event store alone (in-process, no transport), ${concurrency} concurrent appends`,
    eventsPerSecond: latencies.length / elapsed,
    latency: latencyStats(latencies),
  };
}

/** What an audit-table logger does: one INSERT and one commit per record on one connection. */
async function naive(databaseUrl: string, seconds: number): Promise<BenchRow> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query(
    'CREATE TABLE naive_audit (id bigserial PRIMARY KEY, recorded_at timestamptz DEFAULT now(), data jsonb NOT NULL)',
  );
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  for (let n = 0; performance.now() < deadline; n++) {
    const sent = performance.now();
    await client.query('INSERT INTO naive_audit (data) VALUES ($1)', [JSON.stringify(execution(n, n))]);
    latencies.push(performance.now() - sent);
  }
  const elapsed = (performance.now() - start) / 1000;
  await client.end();
  return {
    scenario: 'naive: one INSERT + commit per record, 1 connection',
    eventsPerSecond: latencies.length / elapsed,
    latency: latencyStats(latencies),
  };
}

/**
 * The ways the ledger runs: workers off (as when they run in another process), the command path with checkpoint
 * sealing on (its cost on appends; measured with the 32-client closed loop only) and as `npm start` runs it.
 */
interface Configuration {
  label: string;
  env: Record<string, string>;
  /** Only the 32-client closed loop. */
  closedLoopOnly?: boolean;
  /** Verify the run's database afterwards. */
  verify?: boolean;
}

const CONFIGURATIONS: Configuration[] = [
  {
    label: 'command path only',
    env: {
      LEDGER_RECONCILIATION_ENABLED: 'false',
      LEDGER_PROJECTIONS_ENABLED: 'false',
      LEDGER_CHECKPOINTS_ENABLED: 'false',
    },
  },
  {
    // The default sealing: every second (LEDGER_CHECKPOINT_EVERY_MS=1000) or every 10,000 events, whichever first.
    label: 'command path + checkpoints every second',
    env: {
      LEDGER_RECONCILIATION_ENABLED: 'false',
      LEDGER_PROJECTIONS_ENABLED: 'false',
      LEDGER_CHECKPOINTS_ENABLED: 'true',
      LEDGER_CHECKPOINT_EVERY_MS: '1000',
      LEDGER_CHECKPOINT_EVERY_EVENTS: '10000',
    },
    closedLoopOnly: true,
  },
  { label: 'default: projections, reconciliation, checkpoints', env: {}, verify: true },
];

async function ledgerScenarios(
  databaseUrl: string,
  configuration: Configuration,
  beforeStop?: (ledger: BenchLedger) => void,
): Promise<BenchRow[]> {
  const { label, env } = configuration;
  const ledger = await spawnBenchLedger(databaseUrl, env);
  const rows: BenchRow[] = [];
  try {
    const credential = benchGatewayKey(ledger.dataDir);
    await grantBenchApprovals(ledger.tcpPort, credential);
    const warm = tcpClients(ledger.tcpPort, 8, credential);
    await saturate(warm, 2); // warm-up: JIT, connection pools, plan caches
    if (!configuration.closedLoopOnly) rows.push(await paced(warm, 1000, SECONDS, label));
    await Promise.all(warm.map((client) => client.close()));
    for (const count of configuration.closedLoopOnly ? [32] : [8, 32]) {
      const clients = tcpClients(ledger.tcpPort, count, credential);
      rows.push(await saturate(clients, SECONDS, label));
      await Promise.all(clients.map((client) => client.close()));
    }
    beforeStop?.(ledger);
  } finally {
    await ledger.stop();
  }
  return rows;
}

async function main(): Promise<void> {
  await peerComparisonBench();
  const rows: BenchRow[] = [];
  let label = '';
  let verification: VerificationResult | undefined;
  for (const configuration of CONFIGURATIONS) {
    const database = await benchDatabase(); // a fresh database each, so one run's backlog cannot slow the next
    label = database.label;
    let keys: BenchKeys | undefined;
    rows.push(
      ...(await ledgerScenarios(database.url, configuration, (ledger) => {
        if (configuration.verify) keys = benchLedgerKeys(ledger.dataDir);
      })),
    );
    if (keys) {
      // The ledger has stopped: nothing appends while the verifier reads. Runs are topped up to 400,000 events (a
      // longer pass, so that the process's warm-up weighs little); the median of three runs is reported.
      verification = await verificationThroughput(database.url, keys, {
        minEvents: 400_000,
        topUpSeconds: 90,
        runs: VERIFY_RUNS,
        onRun: (result, run) =>
          process.stdout.write(
            `verify run ${run}: ${result.eventsChecked} events in ${result.seconds.toFixed(2)} s = ` +
              `${Math.round(result.eventsPerSecond)} events/s (${result.ok ? 'OK' : `FAILED: ${result.firstProblem}`})\n`,
          ),
      });
    }
    await database.close();
  }
  const database = await benchDatabase();
  rows.push(await storeAlone(database.url, SECONDS, 32));
  rows.push(await naive(database.url, SECONDS));
  await database.close();
  writeReport(rows, { seconds: SECONDS, database: label, ...(verification ? { verification } : {}) });
  await projectionLagBench(SECONDS);
  await firstAlertLatencyBench(SECONDS);
  await dashboardQueriesBench();
  await dashboardPagesBench();
  await authenticationBench(SECONDS);
  await workersCpuBench(SECONDS);
  await archiveThroughputBench();
}

/**
 * `BENCH_ONLY=checkpoints`: only the checkpoint overhead (32 clients, closed loop, with and without sealing every
 * second), printed and not written to docs/benchmarks.md: a quick check of the cost of sealing more often.
 */
async function checkpointOverheadOnly(): Promise<void> {
  const rows: BenchRow[] = [];
  for (const configuration of CONFIGURATIONS.slice(0, 2)) {
    const database = await benchDatabase();
    rows.push(...(await ledgerScenarios(database.url, { ...configuration, closedLoopOnly: true })));
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows: sealed } = await client.query<{ n: number; biggest: string | null }>(
      `SELECT count(*)::int AS n, max((data->>'count')::bigint)::text AS biggest
         FROM ledger.events WHERE stream_id = 'checkpoints'`,
    );
    await client.end();
    process.stdout.write(
      `${configuration.label}: ${sealed[0]!.n} checkpoints, largest range ${sealed[0]!.biggest ?? 0}\n`,
    );
    await database.close();
  }
  const [without, sealed] = rows;
  for (const row of rows) process.stdout.write(`${row.scenario}: ${Math.round(row.eventsPerSecond)} events/s\n`);
  process.stdout.write(
    `checkpoints every second / none: ${(sealed!.eventsPerSecond / without!.eventsPerSecond).toFixed(2)}x\n`,
  );
}

const only = process.env.BENCH_ONLY;
await (only === 'peers'
  ? peerComparisonBench()
  : only === 'command-path'
    ? commandPathBench()
    : only === 'checkpoints'
      ? checkpointOverheadOnly()
      : only === 'authentication'
        ? authenticationBench(SECONDS)
        : main());
