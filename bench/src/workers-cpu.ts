/**
 * CPU per event by worker, for `npm run bench` (and `npm run bench:workers` alone): the ledger runs as its own process
 * with one worker switched on at a time (projections, reconciliation, checkpoint sealing), with none (the command path
 * only) and with all (as `npm start` runs it). TCP clients log executions (closed loop, or paced at a fixed rate);
 * the CPU time of the ledger process and of every PostgreSQL process of the run's server is read from /proc before
 * the load and after the workers have applied everything (both processes idle again), and divided by the executions
 * acknowledged. A worker's cost per
 * event is its configuration's minus the command path's: measured from the outside, PostgreSQL's share included.
 *
 * `BENCH_WORKERS_COMPARE=<label>=<path to another build's apps/ledger/dist/main.js>` runs that build too, each of its
 * runs right before the same run of this build (interleaved: the machine's other load hits both alike), and reports
 * the ratios. `BENCH_WORKERS_RUNS` (default 1) runs per pair, the median is reported; `BENCH_WORKERS_CONFIGS` picks
 * configurations by key (`none,projections,reconciliation,checkpoints,all`); `BENCH_WORKERS_LOADS` the loads
 * (default `1,32`: closed loops of 1 and 32 clients; `paced:<rate>`: 8 clients paced at that total rate).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { benchDatabase, spawnBenchLedger } from './environment.js';
import {
  benchGatewayKey,
  closedLoopExecutions,
  grantBenchApprovals,
  pacedExecutions,
  tcpClients,
} from './ledger-clients.js';
import { machineLine } from './machine.js';
import { postmasterPid, processCpuMs, serverCpuMs } from './process-cpu.js';
import { writeReportSection } from './report-section.js';
import { latencyStats } from './stats.js';

interface WorkerConfiguration {
  key: string;
  label: string;
  env: Record<string, string>;
}

const OFF = {
  LEDGER_RECONCILIATION_ENABLED: 'false',
  LEDGER_PROJECTIONS_ENABLED: 'false',
  LEDGER_CHECKPOINTS_ENABLED: 'false',
};

const WORKER_CONFIGURATIONS: readonly WorkerConfiguration[] = [
  { key: 'none', label: 'command path only', env: OFF },
  { key: 'projections', label: '+ projections', env: { ...OFF, LEDGER_PROJECTIONS_ENABLED: 'true' } },
  { key: 'reconciliation', label: '+ reconciliation', env: { ...OFF, LEDGER_RECONCILIATION_ENABLED: 'true' } },
  { key: 'checkpoints', label: '+ checkpoint sealing', env: { ...OFF, LEDGER_CHECKPOINTS_ENABLED: 'true' } },
  { key: 'all', label: 'all workers (`npm start`)', env: {} },
];

interface Build {
  label: string;
  /** Another build's ledger main; undefined: this build. */
  entry?: string;
}

/** Closed loop with `clients` clients, or (`paced`) 8 clients sending `paced` executions per second in all. */
interface Load {
  label: string;
  clients: number;
  paced?: number;
}

/** `1,32,paced:500`: closed loops of 1 and 32 clients, and 8 clients paced at 500/s. */
function parseLoads(text: string): Load[] {
  return text.split(',').map((item) => {
    const paced = /^paced:(\d+)$/.exec(item);
    if (paced) return { label: `paced ${paced[1]}/s (8 clients)`, clients: 8, paced: Number(paced[1]) };
    if (!/^\d+$/.test(item)) throw new Error(`BENCH_WORKERS_LOADS: ${item} is neither a client count nor paced:<rate>`);
    return { label: `${item} closed loop`, clients: Number(item) };
  });
}

interface Measurement {
  build: string;
  configuration: string;
  load: string;
  eventsPerSecond: number;
  p99: number;
  ledgerMsPerEvent: number;
  /** Undefined when the server's processes cannot be read (not a local server of this user). */
  postgresMsPerEvent?: number;
}

/** Both CPU counters stop moving (under 5% of a core over 300 ms twice in a row), or `maxMs` passes. */
async function settle(ledgerPid: number, serverPid: number | undefined, maxMs = 30_000): Promise<void> {
  const deadline = performance.now() + maxMs;
  let quiet = 0;
  let last = processCpuMs(ledgerPid) + (serverPid ? serverCpuMs(serverPid) : 0);
  while (quiet < 2 && performance.now() < deadline) {
    await sleep(300);
    const now = processCpuMs(ledgerPid) + (serverPid ? serverCpuMs(serverPid) : 0);
    quiet = now - last < 15 ? quiet + 1 : 0;
    last = now;
  }
}

async function measureRun(
  build: Build,
  configuration: WorkerConfiguration,
  loads: readonly Load[],
  seconds: number,
): Promise<Measurement[]> {
  const database = await benchDatabase();
  const serverPid = await postmasterPid(database.url);
  const ledger = await spawnBenchLedger(database.url, configuration.env, build.entry);
  const results: Measurement[] = [];
  try {
    const credential = benchGatewayKey(ledger.dataDir);
    await grantBenchApprovals(ledger.tcpPort, credential);
    const warm = tcpClients(ledger.tcpPort, 8, credential);
    await closedLoopExecutions(warm, 2); // JIT, pools, plan caches
    await Promise.all(warm.map((client) => client.close()));
    for (const load of loads) {
      await settle(ledger.pid, serverPid);
      const clients = tcpClients(ledger.tcpPort, load.clients, credential);
      const ledgerBefore = processCpuMs(ledger.pid);
      const serverBefore = serverPid ? serverCpuMs(serverPid) : 0;
      const run = load.paced
        ? await pacedExecutions(clients, load.paced, seconds).then((paced) => ({
            latencies: paced.latencies,
            eventsPerSecond: paced.sent / paced.seconds,
          }))
        : await closedLoopExecutions(clients, seconds, 1_000_000 * load.clients);
      await Promise.all(clients.map((client) => client.close()));
      await settle(ledger.pid, serverPid); // the workers finish what the load left them
      const events = run.latencies.length;
      results.push({
        build: build.label,
        configuration: configuration.label,
        load: load.label,
        eventsPerSecond: run.eventsPerSecond,
        p99: latencyStats(run.latencies).p99,
        ledgerMsPerEvent: (processCpuMs(ledger.pid) - ledgerBefore) / events,
        ...(serverPid ? { postgresMsPerEvent: (serverCpuMs(serverPid) - serverBefore) / events } : {}),
      });
      process.stdout.write(`workers bench: ${describe(results[results.length - 1]!)}\n`);
    }
  } finally {
    await ledger.stop();
    await database.close();
  }
  return results;
}

function describe(m: Measurement): string {
  const pgPart = m.postgresMsPerEvent === undefined ? '' : `, PostgreSQL ${m.postgresMsPerEvent.toFixed(3)} ms`;
  return (
    `${m.build}, ${m.configuration}, ${m.load}: ${Math.round(m.eventsPerSecond)}/s, p99 ${m.p99.toFixed(1)} ms, ` +
    `CPU/event ledger ${m.ledgerMsPerEvent.toFixed(3)} ms${pgPart}`
  );
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

function medianOf(runs: Measurement[]): Measurement {
  const first = runs[0]!;
  const pgValues = runs.map((r) => r.postgresMsPerEvent).filter((v): v is number => v !== undefined);
  return {
    ...first,
    eventsPerSecond: median(runs.map((r) => r.eventsPerSecond)),
    p99: median(runs.map((r) => r.p99)),
    ledgerMsPerEvent: median(runs.map((r) => r.ledgerMsPerEvent)),
    ...(pgValues.length === runs.length ? { postgresMsPerEvent: median(pgValues) } : {}),
  };
}

const total = (m: Measurement): number => m.ledgerMsPerEvent + (m.postgresMsPerEvent ?? 0);

function builds(): Build[] {
  const compare = process.env.BENCH_WORKERS_COMPARE;
  if (!compare) return [{ label: 'this build' }];
  const at = compare.indexOf('=');
  if (at <= 0) throw new Error('BENCH_WORKERS_COMPARE must be <label>=<path to apps/ledger/dist/main.js>');
  return [{ label: compare.slice(0, at), entry: compare.slice(at + 1) }, { label: 'this build' }];
}

export async function workersCpuBench(seconds: number): Promise<void> {
  const runs = Number(process.env.BENCH_WORKERS_RUNS ?? 1);
  const keys = process.env.BENCH_WORKERS_CONFIGS?.split(',');
  const configurations = WORKER_CONFIGURATIONS.filter((c) => !keys || keys.includes(c.key));
  const loads = parseLoads(process.env.BENCH_WORKERS_LOADS ?? '1,32');
  const compared = builds();
  const all: Measurement[] = [];
  for (let run = 0; run < runs; run++) {
    for (const configuration of configurations) {
      for (const build of compared) all.push(...(await measureRun(build, configuration, loads, seconds)));
    }
  }
  const rows: Measurement[] = [];
  for (const build of compared) {
    for (const configuration of configurations) {
      for (const load of loads) {
        const same = all.filter(
          (m) => m.build === build.label && m.configuration === configuration.label && m.load === load.label,
        );
        if (same.length > 0) rows.push(medianOf(same));
      }
    }
  }
  writeReportSection('workers-cpu', report(rows, compared, configurations, loads, seconds, runs));
}

function report(
  rows: Measurement[],
  compared: Build[],
  configurations: readonly WorkerConfiguration[],
  loads: readonly Load[],
  seconds: number,
  runs: number,
): string {
  const find = (build: string, configuration: string, load: string): Measurement | undefined =>
    rows.find((r) => r.build === build && r.configuration === configuration && r.load === load);
  const fmt = (v: number | undefined): string => (v === undefined ? 'n/a' : v.toFixed(3));
  const lines = [
    '### CPU per event by worker',
    '',
    `Written by \`npm run bench:workers\` (also part of \`npm run bench\`) on ${new Date().toISOString()}. ` +
      `${machineLine()}. TCP clients logging executions for ${seconds} s per row (closed loop, or 8 clients paced at a ` +
      `fixed total rate), a fresh database and ` +
      `ledger process per configuration; CPU from /proc (user + system) of the ledger process and of every process ` +
      `of the run's PostgreSQL server, from before the load until both were idle again (the workers had applied ` +
      `everything), per execution acknowledged. Median of ${runs} run(s)` +
      (compared.length > 1 ? `; each run of \`${compared[0]!.label}\` right before the same run of this build.` : '.'),
    '',
    '| build | configuration | load | events/s | p99 ms | ledger CPU ms/event | PostgreSQL CPU ms/event | total |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.build} | ${r.configuration} | ${r.load} | ${Math.round(r.eventsPerSecond)} | ${r.p99.toFixed(1)} | ` +
        `${fmt(r.ledgerMsPerEvent)} | ${fmt(r.postgresMsPerEvent)} | ${fmt(total(r))} |`,
    ),
  ];
  const base = configurations.find((c) => c.key === 'none');
  if (base) {
    lines.push(
      '',
      'Each worker\'s own cost: its configuration minus "command path only" (same build, same load), ms CPU ' +
        'per event, ledger + PostgreSQL:',
      '',
      `| build | load | ${configurations
        .filter((c) => c !== base)
        .map((c) => c.label)
        .join(' | ')} |`,
      `|---|---:|${configurations
        .filter((c) => c !== base)
        .map(() => '---:')
        .join('|')}|`,
    );
    for (const build of compared) {
      for (const { label: load } of loads) {
        const none = find(build.label, base.label, load);
        if (!none) continue;
        const cells = configurations
          .filter((c) => c !== base)
          .map((c) => {
            const m = find(build.label, c.label, load);
            return m ? (total(m) - total(none)).toFixed(3) : 'n/a';
          });
        lines.push(`| ${build.label} | ${load} | ${cells.join(' | ')} |`);
      }
    }
  }
  if (compared.length > 1) {
    const [before, after] = compared as [Build, Build];
    lines.push(
      '',
      `This build / \`${before.label}\` (events/s: higher is better; CPU per event: lower is better):`,
      '',
      '| configuration | load | events/s | total CPU per event |',
      '|---|---:|---:|---:|',
    );
    for (const configuration of configurations) {
      for (const { label: load } of loads) {
        const b = find(before.label, configuration.label, load);
        const a = find(after.label, configuration.label, load);
        if (!a || !b) continue;
        lines.push(
          `| ${configuration.label} | ${load} | ${(a.eventsPerSecond / b.eventsPerSecond).toFixed(2)}× | ` +
            `${(total(a) / total(b)).toFixed(2)}× |`,
        );
      }
    }
  }
  return lines.join('\n');
}
