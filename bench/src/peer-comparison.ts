/**
 * Issue 14, item 5: the ledger beside a bare event store library and a naive logger, in one run on one PostgreSQL
 * server. Each contender has its own database on that server and stays set up for the whole run; the windows are
 * interleaved (round → clients → contender, the contenders' order rotated each round), so a slow patch of the shared
 * machine falls on all of them. CPU per event is split by process: the contender's own process (the ledger's node
 * process, or this process for the in-process peers) and the PostgreSQL server (postmaster and every backend).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { benchServer, type BenchDatabase } from './environment.js';
import { machineLine } from './machine.js';
import { emmettContender, ledgerContender, naiveContender, type Contender } from './peer-contenders.js';
import { postmasterPid, serverCpuMs } from './process-cpu.js';
import { writeReportSection } from './report-section.js';
import { latencyStats, ms } from './stats.js';

const SECONDS = Number(process.env.BENCH_PEER_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_PEER_ROUNDS ?? 3);
const PACED_SECONDS = Number(process.env.BENCH_PEER_PACED_SECONDS ?? SECONDS);
const CLIENT_COUNTS = (process.env.BENCH_PEER_CLIENTS ?? '1,8,32').split(',').map(Number);
const PACED_RATE = 1000;
/** Another build's apps/ledger/dist/main.js, run beside this one (command path only): before/after in one run. */
const BASELINE = process.env.BENCH_BASELINE_LEDGER;

export const COMMAND_PATH_ONLY = {
  LEDGER_RECONCILIATION_ENABLED: 'false',
  LEDGER_PROJECTIONS_ENABLED: 'false',
  LEDGER_CHECKPOINTS_ENABLED: 'false',
};
const LEDGER_START = 'ledger as `npm start` (all workers)';
const LEDGER_COMMAND = 'ledger, command path only';
const EMMETT = 'Emmett-PostgreSQL 0.42';

interface Window {
  eventsPerSecond: number;
  p99: number;
  /** CPU ms per event: the contender's process, the PostgreSQL server. */
  ownCpu: number;
  serverCpu: number;
  /** Seconds after the window until both processes were idle again (work left behind: lagging workers). */
  settle: number;
}

/** Waits until the contender's process and the server use < 10% of a core over 250 ms (at most 60 s). */
async function settle(contender: Contender, postmaster: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const own = contender.cpuMs();
    const server = serverCpuMs(postmaster);
    await sleep(250);
    const busy = contender.cpuMs() - own + (serverCpuMs(postmaster) - server);
    if (busy < 25 || Date.now() - started > 60_000) return (Date.now() - started) / 1000;
  }
}

async function measure(contender: Contender, postmaster: number, clients: number, first: number): Promise<Window> {
  await settle(contender, postmaster);
  const own = contender.cpuMs();
  const server = serverCpuMs(postmaster);
  const run = await contender.closedLoop(clients, SECONDS, first);
  const settled = await settle(contender, postmaster);
  const events = run.latencies.length;
  return {
    eventsPerSecond: run.eventsPerSecond,
    p99: latencyStats(run.latencies).p99,
    ownCpu: (contender.cpuMs() - own) / events,
    serverCpu: (serverCpuMs(postmaster) - server) / events,
    settle: settled,
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function medianWindow(windows: Window[]): Window {
  const of = (key: keyof Window) => median(windows.map((window) => window[key]));
  return {
    eventsPerSecond: of('eventsPerSecond'),
    p99: of('p99'),
    ownCpu: of('ownCpu'),
    serverCpu: of('serverCpu'),
    settle: of('settle'),
  };
}

export async function peerComparisonBench(): Promise<void> {
  const server = await benchServer();
  const databases: BenchDatabase[] = [];
  const contenders: Contender[] = [];
  const fresh = async () => {
    const database = await server.database();
    databases.push(database);
    return database.url;
  };
  try {
    contenders.push(await ledgerContender(LEDGER_START, await fresh(), {}));
    contenders.push(await ledgerContender(LEDGER_COMMAND, await fresh(), COMMAND_PATH_ONLY));
    if (BASELINE) {
      contenders.push(
        await ledgerContender(`${LEDGER_COMMAND}, baseline build`, await fresh(), COMMAND_PATH_ONLY, BASELINE),
      );
    }
    contenders.push(await emmettContender(await fresh()));
    contenders.push(await naiveContender(await fresh()));
    const postmaster = await postmasterPid(databases[0]!.url);
    for (const contender of contenders) await contender.closedLoop(8, 2, 0); // warm-up: JIT, pools, plan caches
    const windows = new Map<string, Window[]>();
    const paced = new Map<string, number[]>();
    let first = 1_000_000;
    for (let round = 0; round < ROUNDS; round++) {
      const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]!);
      for (const clients of CLIENT_COUNTS) {
        for (const contender of order) {
          const window = await measure(contender, postmaster, clients, first);
          first += 1_000_000;
          const key = `${contender.name}|${clients}`;
          windows.set(key, [...(windows.get(key) ?? []), window]);
          process.stdout.write(
            `round ${round + 1}, ${clients} clients, ${contender.name}: ${Math.round(window.eventsPerSecond)}/s, ` +
              `p99 ${ms(window.p99)} ms, CPU/event ${ms(window.ownCpu)} + ${ms(window.serverCpu)} (PostgreSQL) ms, ` +
              `settled in ${window.settle.toFixed(1)} s\n`,
          );
        }
      }
      for (const contender of order) {
        if (!contender.paced) continue;
        await settle(contender, postmaster);
        const run = await contender.paced(PACED_RATE, PACED_SECONDS);
        const p99 = latencyStats(run.latencies).p99;
        paced.set(contender.name, [...(paced.get(contender.name) ?? []), p99]);
        process.stdout.write(`round ${round + 1}, ${contender.name} paced at ${PACED_RATE}/s: p99 ${ms(p99)} ms\n`);
      }
    }
    const markdown = report(
      contenders.map((contender) => contender.name),
      (name, clients) => medianWindow(windows.get(`${name}|${clients}`)!),
      new Map([...paced].map(([name, p99s]) => [name, median(p99s)])),
      server.label,
    );
    writeReportSection('peer-comparison', markdown);
    process.stdout.write(`${markdown}\n`);
  } finally {
    for (const contender of contenders) await contender.stop();
    for (const database of databases) await database.close();
    await server.stop();
  }
}

function report(
  names: string[],
  median: (name: string, clients: number) => Window,
  paced: Map<string, number>,
  database: string,
): string {
  const rows: string[] = [];
  for (const clients of CLIENT_COUNTS) {
    const emmett = median(EMMETT, clients).eventsPerSecond;
    for (const name of names) {
      const window = median(name, clients);
      rows.push(
        `| ${clients} | ${name} | ${Math.round(window.eventsPerSecond)} | ${ms(window.p99)} | ` +
          `${ms(window.ownCpu)} | ${ms(window.serverCpu)} | ${ms(window.ownCpu + window.serverCpu)} | ` +
          `**${(window.eventsPerSecond / emmett).toFixed(2)}×** |`,
      );
    }
  }
  const ratio = (name: string, clients: number) =>
    CLIENT_COUNTS.includes(clients)
      ? (median(name, clients).eventsPerSecond / median(EMMETT, clients).eventsPerSecond).toFixed(2)
      : 'n/a';
  const top = Math.max(...CLIENT_COUNTS);
  const cpuAtTop = CLIENT_COUNTS.includes(32)
    ? ms(median(LEDGER_START, 32).ownCpu + median(LEDGER_START, 32).serverCpu)
    : 'n/a';
  return [
    '## The ledger beside a bare event store (issue 14)',
    '',
    `\`npm run bench\` (alone: \`npm run bench:peers\`). One ${database} server; each contender on its own database, ` +
      `set up once; ${ROUNDS} rounds of ${SECONDS} s closed-loop windows, interleaved (round → clients → contender, ` +
      `order rotated each round); each column is the median of its rounds. ~600-byte \`ExecutionLogged\` events to 1,000 streams ` +
      '(one per approval); each runs the command its approval approves, with a token of its own, so the reconciler ' +
      'records a MATCH (`ExecutionReconciled`), no alert; mismatches and their alerts are measured by "First alert ' +
      'after a mismatching execution". The ledger runs as its own process, called over TCP with an API key; Emmett and the naive ' +
      'logger run in the bench process (their CPU column includes the callers that drive them). CPU per event: ' +
      '/proc times of the process, and of the PostgreSQL postmaster with all its backends, from the start of a window ' +
      'until both are idle again (so work a lagging worker leaves behind is counted). The machine (2 cores) was ' +
      'shared with other processes during the run: read the ratios, not the absolute numbers.',
    '',
    'Windows are set by `BENCH_PEER_SECONDS` (5), `BENCH_PEER_ROUNDS` (3), `BENCH_PEER_PACED_SECONDS` and `BENCH_PEER_CLIENTS` (1,8,32); `BENCH_BASELINE_LEDGER=<checkout>/apps/ledger/dist/main.js` adds another build of the ledger (command path only) to the same rounds.',
    '',
    machineLine(),
    '',
    '| clients | contender | events/s | p99 ms | CPU ms/event, own process | CPU ms/event, PostgreSQL | CPU ms/event, total | vs Emmett |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `Paced at ${PACED_RATE}/s (8 clients, ${PACED_SECONDS} s, latency from the scheduled send), median p99: ` +
      [...paced].map(([name, p99]) => `${name} ${ms(p99)} ms`).join('; ') +
      '.',
    '',
    ...(BASELINE
      ? [
          `"${LEDGER_COMMAND}, baseline build" is the ledger built from another checkout (BENCH_BASELINE_LEDGER), run ` +
            'in the same rounds: before/after on the same machine at the same time.',
          '',
        ]
      : []),
    'Targets (issue 14, reported, not asserted): as `npm start` runs it ≥ 1.0× Emmett at 1 client ' +
      `(here ${ratio(LEDGER_START, 1)}×) and ≥ 2× at 32 (here ${ratio(LEDGER_START, 32)}×), CPU ≤ 0.5 ms/event at 32 ` +
      `clients (here ${cpuAtTop} ms); command path only ≥ 3× Emmett at 32 clients (here ${ratio(LEDGER_COMMAND, 32)}×), ` +
      `p99 ≤ 5 ms paced at 1,000/s (here ${paced.has(LEDGER_COMMAND) ? ms(paced.get(LEDGER_COMMAND)!) : 'n/a'} ms). ` +
      `Largest client count measured: ${top}.`,
  ].join('\n');
}
