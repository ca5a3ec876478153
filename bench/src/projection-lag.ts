/**
 * Projection lag for `npm run bench`: the ledger as `npm start` runs it (projections, reconciliation, checkpoint
 * sealing in one process) takes executions over TCP at a paced rate; for every acknowledgement the bench measures how
 * long until each projection had committed it (`CheckpointWatcher`). Runs at lower rates, then at the target rate.
 */
import pg from 'pg';
import { CheckpointWatcher, WATCHED_PROJECTIONS, type WatchedProjection } from './checkpoint-watcher.js';
import { benchDatabase, spawnBenchLedger } from './environment.js';
import { benchGatewayKey, grantBenchApprovals, pacedExecutions, tcpClients } from './ledger-clients.js';
import { machineLine } from './machine.js';
import { writeReportSection } from './report-section.js';
import { latencyStats, ms, type LatencyStats } from './stats.js';

const LAG_TARGET_RATE = 2000;
const LAG_TARGET_P99_MS = 100;
const CLIENTS = 8;
/**
 * Lower rates first, then the target: each run starts on projections that caught up with the one before (or waited
 * `DRAIN_WAIT_MS`), so a lower rate the ledger sustains is measured even when the target leaves a backlog.
 */
const RATES = [100, 500, LAG_TARGET_RATE];
/** After the last acknowledgement, how long the projections get to apply the rest before the run counts as behind. */
const DRAIN_BOUND_MS = 1000;
/** The most the bench waits for projections that fell behind (the rest count as not reached). */
const DRAIN_WAIT_MS = 10_000;

interface LagRun {
  rate: number;
  ackedPerSecond: number;
  /** Events the store took per second (the reconciler appends a verdict per execution). */
  storeEventsPerSecond: number;
  ack: LatencyStats;
  lag: Record<WatchedProjection, LatencyStats & { unreached: number }>;
  /** From the last acknowledgement until every projection had reached every acknowledged append. */
  drainMs: number;
  sustained: boolean;
}

async function head(client: pg.Client): Promise<bigint> {
  const { rows } = await client.query<{ head: string | null }>(
    'SELECT max(global_position) AS head FROM ledger.events',
  );
  return BigInt(rows[0]?.head ?? 0);
}

export async function projectionLagBench(seconds: number): Promise<void> {
  const database = await benchDatabase();
  const ledger = await spawnBenchLedger(database.url); // the default configuration, as `npm start` runs it
  const runs: LagRun[] = [];
  const probe = new pg.Client({ connectionString: database.url });
  const watcher = new CheckpointWatcher(database.url);
  try {
    const credential = benchGatewayKey(ledger.dataDir);
    await grantBenchApprovals(ledger.tcpPort, credential);
    await probe.connect();
    await watcher.start();
    const clients = tcpClients(ledger.tcpPort, CLIENTS, credential);
    const onAck = (ack: { globalPosition: string }, at: number) => watcher.acked(BigInt(ack.globalPosition), at);
    await pacedExecutions(clients, 100, 2, onAck); // warm-up: JIT, pools, plan caches
    await watcher.drained(DRAIN_WAIT_MS);
    for (const rate of RATES) {
      watcher.reset();
      const before = await head(probe);
      const run = await pacedExecutions(clients, rate, seconds, onAck);
      const after = await head(probe);
      const drainMs = await watcher.drained(DRAIN_WAIT_MS);
      const results = watcher.results();
      const lag = Object.fromEntries(
        WATCHED_PROJECTIONS.map((name) => [
          name,
          { ...latencyStats(results[name].lags), unreached: results[name].unreached },
        ]),
      ) as LagRun['lag'];
      const ackedPerSecond = run.sent / run.seconds;
      runs.push({
        rate,
        ackedPerSecond,
        storeEventsPerSecond: Number(after - before) / run.seconds,
        ack: latencyStats(run.latencies),
        lag,
        drainMs,
        sustained: ackedPerSecond >= rate * 0.95 && drainMs <= DRAIN_BOUND_MS && lag.executions.unreached === 0,
      });
      await watcher.drained(DRAIN_WAIT_MS);
    }
    await Promise.all(clients.map((client) => client.close()));
  } finally {
    await watcher.stop().catch(() => undefined);
    await probe.end().catch(() => undefined);
    await ledger.stop();
    await database.close();
  }
  report(runs, seconds, database.label, watcher.polls);
}

function report(runs: LagRun[], seconds: number, databaseLabel: string, polls: number): void {
  const header =
    '| paced rate | acked/s | store events/s | ack p99 ms | projection | lag p50 ms | p95 ms | p99 ms | max ms | drained after last ack | sustained |';
  const lines = runs.flatMap((run) =>
    WATCHED_PROJECTIONS.map((name) => {
      const lag = run.lag[name];
      const first = name === WATCHED_PROJECTIONS[0];
      const atLeast = lag.unreached ? '≥ ' : '';
      return `| ${first ? `${run.rate}/s` : ''} | ${first ? Math.round(run.ackedPerSecond) : ''} | ${first ? Math.round(run.storeEventsPerSecond) : ''} | ${first ? ms(run.ack.p99) : ''} | ${name}${lag.unreached ? ` (${lag.unreached} not reached)` : ''} | ${atLeast}${ms(lag.p50)} | ${atLeast}${ms(lag.p95)} | ${atLeast}${ms(lag.p99)} | ${atLeast}${ms(lag.max)} | ${first ? `${Math.round(run.drainMs)} ms` : ''} | ${first ? (run.sustained ? 'yes' : 'no') : ''} |`;
    }),
  );
  const table = [header, '|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|', ...lines].join('\n');
  const target = runs.find((run) => run.rate === LAG_TARGET_RATE);
  const met = target !== undefined && target.sustained && target.lag.executions.p99 < LAG_TARGET_P99_MS;
  const markdown = `## Projection lag

Written by \`npm run bench\` on ${new Date().toISOString()}. ${machineLine()}. Database: ${databaseLabel}.

The ledger runs as \`npm start\` runs it (its own process; projections, reconciliation and checkpoint sealing on),
on a fresh database. ${CLIENTS} TCP clients send \`ExecutionLogged\` commands paced at a fixed rate for ${seconds} s
per rate (\`BENCH_SECONDS\`), after a 2 s warm-up at 100/s: ${RATES.map((rate) => `${rate}/s`).join(', then ')}, each
once the projections caught up with the run before (or ${DRAIN_WAIT_MS / 1000} s passed: then it starts with that
backlog). For every acknowledgement the
benchmark records its global position and time; a dedicated connection polls
\`read_models.projection_checkpoints\` about every millisecond, and an append counts as visible in a projection
once that projection's checkpoint has reached its position (a projection commits its rows and its checkpoint in one
transaction). Lag is from the acknowledgement to the first poll that sees it: an upper bound, about 1 ms coarse; an
append already visible when acknowledged counts 0. \`executions\` holds the rows the lag is about; \`approvals\`
and \`reconciliation\` are the other projections that \`GET /v1/executions?minPosition=\` waits for. Store events/s
counts every event appended during the run, including the reconciler's verdict event per execution. \`n not
reached\`: acknowledged appends the projection had not applied ${DRAIN_WAIT_MS / 1000} s after the last
acknowledgement; they count with the time from their acknowledgement to then, so the percentiles are lower bounds
(\`≥\`). A run is sustained when the acknowledged rate is at least 95% of the paced rate and every
projection caught up within ${DRAIN_BOUND_MS} ms of the last acknowledgement.

${table}

| target | measured | met |
|---|---|---|
| projection lag p99 under ${LAG_TARGET_P99_MS} ms at ${LAG_TARGET_RATE.toLocaleString('en')} events/s (\`executions\`) | ${target ? `${ms(target.lag.executions.p99)} ms at ${Math.round(target.ackedPerSecond)} acked/s${target.sustained ? '' : ', not sustained'}` : 'n/a'} | ${met ? 'yes' : 'no'} |

${polls} checkpoint polls in all. The ledger, PostgreSQL and the benchmark share the machine's cores.
`;
  writeReportSection('projection-lag', markdown);
  process.stdout.write(
    `\n${table}\n\nprojection lag target ${met ? 'met' : 'not met'}; written to docs/benchmarks.md\n`,
  );
}
