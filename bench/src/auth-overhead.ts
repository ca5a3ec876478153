import { MESSAGE_PATTERNS } from '@audit-ledger/domain';
import type { ClientProxy } from '@nestjs/microservices';
import { fileURLToPath } from 'node:url';
import { firstValueFrom } from 'rxjs';
import { benchDatabase, spawnBenchLedger, type BenchLedger } from './environment.js';
import { benchGatewayKey, closedLoopExecutions, grantBenchApprovals, tcpClients } from './ledger-clients.js';
import { writeReportSection } from './report-section.js';
import { latencyStats, type LatencyStats } from './stats.js';
import { execution } from './workload.js';

/** The command path alone: what authentication adds to it is what this measures. */
const COMMAND_PATH_ONLY = {
  LEDGER_RECONCILIATION_ENABLED: 'false',
  LEDGER_PROJECTIONS_ENABLED: 'false',
  LEDGER_CHECKPOINTS_ENABLED: 'false',
};
const UNAUTHENTICATED_ENTRY = fileURLToPath(new URL('./unauthenticated-ledger.js', import.meta.url));
const ROUNDS = 2;

interface Run {
  eventsPerSecond: number;
  latency: LatencyStats;
}

async function closedLoop(clients: ClientProxy[], seconds: number, firstExecution: number): Promise<Run> {
  const run = await closedLoopExecutions(clients, seconds, firstExecution);
  return { eventsPerSecond: run.eventsPerSecond, latency: latencyStats(run.latencies) };
}

/** Bad credentials as fast as the ledger refuses them, until `stop` is set; returns how many were refused. */
async function flood(port: number, count: number, until: () => boolean): Promise<number> {
  const clients = tcpClients(port, count, `alk_${'x'.repeat(12)}_${'y'.repeat(43)}`);
  let refused = 0;
  await Promise.all(
    clients.map(async (client, c) => {
      while (!until()) {
        await firstValueFrom(client.send(MESSAGE_PATTERNS.logExecution, execution(c, refused))).catch(() => refused++);
      }
    }),
  );
  await Promise.all(clients.map((client) => client.close()));
  return refused;
}

async function withLedger<T>(authenticated: boolean, work: (ledger: BenchLedger, key?: string) => Promise<T>) {
  const database = await benchDatabase();
  const ledger = await spawnBenchLedger(
    database.url,
    COMMAND_PATH_ONLY,
    authenticated ? undefined : UNAUTHENTICATED_ENTRY,
  );
  try {
    const key = authenticated ? benchGatewayKey(ledger.dataDir) : undefined;
    await grantBenchApprovals(ledger.tcpPort, key);
    return await work(ledger, key);
  } finally {
    await ledger.stop();
    await database.close();
  }
}

async function commandPath(authenticated: boolean, seconds: number, round: number): Promise<Record<1 | 32, Run>> {
  return withLedger(authenticated, async (ledger, key) => {
    const warm = tcpClients(ledger.tcpPort, 8, key);
    await closedLoop(warm, 2, round * 10_000_000);
    await Promise.all(warm.map((client) => client.close()));
    const result = {} as Record<1 | 32, Run>;
    for (const count of [1, 32] as const) {
      const clients = tcpClients(ledger.tcpPort, count, key);
      result[count] = await closedLoop(clients, seconds, round * 10_000_000 + count * 1_000_000);
      await Promise.all(clients.map((client) => client.close()));
    }
    return result;
  });
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * Issue 11: the authentication overhead on the command path (a ledger that authenticates each message's API key,
 * beside the bench-only one that takes every call as one principal; same run, alternating, median of the rounds), and
 * what a flood of bad credentials does to a good gateway's throughput.
 */
export async function authenticationBench(seconds: number): Promise<void> {
  const runs: Record<'with' | 'without', Record<1 | 32, Run>[]> = { with: [], without: [] };
  for (let round = 0; round < ROUNDS; round++) {
    runs.with.push(await commandPath(true, seconds, round));
    runs.without.push(await commandPath(false, seconds, round));
  }
  const rate = (which: 'with' | 'without', c: 1 | 32) => median(runs[which].map((run) => run[c].eventsPerSecond));
  const p99 = (which: 'with' | 'without', c: 1 | 32) => median(runs[which].map((run) => run[c].latency.p99));

  const floodResult = await withLedger(true, async (ledger, key) => {
    const good = tcpClients(ledger.tcpPort, 8, key);
    await closedLoop(good, 2, 50_000_000);
    const alone = await closedLoop(good, seconds, 51_000_000);
    let stop = false;
    const flooding = flood(ledger.tcpPort, 8, () => stop);
    const underFlood = await closedLoop(good, seconds, 52_000_000);
    stop = true;
    const refused = await flooding;
    await Promise.all(good.map((client) => client.close()));
    return { alone, underFlood, refusedPerSecond: refused / seconds };
  });

  const rows = ([1, 32] as const).map(
    (c) =>
      `| ${c} | ${Math.round(rate('without', c))}/s, p99 ${p99('without', c).toFixed(1)} ms | ` +
      `${Math.round(rate('with', c))}/s, p99 ${p99('with', c).toFixed(1)} ms | ` +
      `**${(rate('with', c) / rate('without', c)).toFixed(2)}×** |`,
  );
  const markdown = [
    '## Authentication overhead (issue 11)',
    '',
    `Command path only (no projections, reconciliation or sealing), TCP, closed loop, ${seconds} s per measurement,`,
    `median of ${ROUNDS} alternating rounds, each on a fresh database, ledger as its own process. "Without" is a`,
    'bench-only entry (bench/src/unauthenticated-ledger.ts) that takes every call as one principal: the guard still',
    'reads each declaration and checks the role, but no API key is parsed, hashed or looked up. Target: ≥ 0.95×.',
    '',
    '| clients | without authentication | with an API key per message | with / without |',
    '| ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `A flood of bad credentials: 8 good gateway clients (closed loop) alone, then while 8 other clients send`,
    `log-execution with an unknown API key as fast as they are refused (${Math.round(floodResult.refusedPerSecond)}`,
    'refusals/s):',
    '',
    '| good clients | events/s | p99 |',
    '| --- | ---: | ---: |',
    `| alone | ${Math.round(floodResult.alone.eventsPerSecond)} | ${floodResult.alone.latency.p99.toFixed(1)} ms |`,
    `| under the flood | ${Math.round(floodResult.underFlood.eventsPerSecond)} | ${floodResult.underFlood.latency.p99.toFixed(1)} ms |`,
    `| ratio | **${(floodResult.underFlood.eventsPerSecond / floodResult.alone.eventsPerSecond).toFixed(2)}×** | |`,
    '',
    'On 2 shared cores the refusals and the good commands compete for the same CPU, so a flood slows good callers by',
    "about the CPU the refusals take: each refusal is cheap (the key's id is looked up before any hash, and a refusal",
    'is recorded at most once a second per code and entrance), not free.',
  ].join('\n');
  process.stdout.write(`${markdown}\n`);
  writeReportSection('authentication', markdown);
}
