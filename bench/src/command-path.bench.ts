/**
 * `npm run bench:command-path` (issue 14, item 2): where the command path's CPU goes per event. The ledger runs with
 * its workers off under `node --cpu-prof`; 1 and 32 closed-loop clients log executions over TCP for a window each
 * (BENCH_COMMAND_PATH_SECONDS, default 5), and the profile's samples inside each window are split by what they were
 * doing (cpu-profile-summary.ts) and divided by the window's events. Printed and written to docs/benchmarks.md.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuBreakdown, type CpuBreakdown } from './cpu-profile-summary.js';
import { benchServer, spawnBenchLedger } from './environment.js';
import { benchGatewayKey, closedLoopExecutions, grantBenchApprovals, tcpClients } from './ledger-clients.js';
import { machineLine } from './machine.js';
import { COMMAND_PATH_ONLY } from './peer-comparison.js';
import { processCpuMs } from './process-cpu.js';
import { writeReportSection } from './report-section.js';
import { latencyStats, ms } from './stats.js';

const SECONDS = Number(process.env.BENCH_COMMAND_PATH_SECONDS ?? 5);
const CLIENT_COUNTS = [1, 32];

interface Measured {
  clients: number;
  events: number;
  eventsPerSecond: number;
  p99: number;
  /** From /proc over the window, ms per event (the profile's own overhead included). */
  processCpu: number;
  window: { from: number; to: number };
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

export async function commandPathBench(): Promise<void> {
  const server = await benchServer();
  const database = await server.database();
  // BENCH_CPU_PROFILE_DIR keeps the profile (open it in Chrome DevTools or speedscope); else it is removed.
  const kept = process.env.BENCH_CPU_PROFILE_DIR;
  const profiles = kept ?? mkdtempSync(join(tmpdir(), 'ledger-cpu-prof-'));
  process.env.BENCH_LEDGER_NODE_FLAGS = `--cpu-prof --cpu-prof-dir=${profiles}`;
  const measured: Measured[] = [];
  try {
    const ledger = await spawnBenchLedger(database.url, COMMAND_PATH_ONLY);
    try {
      const credential = benchGatewayKey(ledger.dataDir);
      await grantBenchApprovals(ledger.tcpPort, credential);
      const warm = tcpClients(ledger.tcpPort, 8, credential);
      await closedLoopExecutions(warm, 3);
      await Promise.all(warm.map((client) => client.close()));
      for (const clients of CLIENT_COUNTS) {
        const proxies = tcpClients(ledger.tcpPort, clients, credential);
        await Promise.all(proxies.map((proxy) => proxy.connect()));
        const cpu = processCpuMs(ledger.pid);
        const from = nowUs();
        const run = await closedLoopExecutions(proxies, SECONDS, clients * 1_000_000);
        const to = nowUs();
        const events = run.latencies.length;
        measured.push({
          clients,
          events,
          eventsPerSecond: run.eventsPerSecond,
          p99: latencyStats(run.latencies).p99,
          processCpu: (processCpuMs(ledger.pid) - cpu) / events,
          window: { from, to },
        });
        await Promise.all(proxies.map((proxy) => proxy.close()));
      }
    } finally {
      await ledger.stop(); // the profile is written as the ledger exits
    }
    const file = readdirSync(profiles)
      .filter((name) => name.endsWith('.cpuprofile'))
      .sort()
      .at(-1);
    if (!file) throw new Error('the ledger wrote no CPU profile');
    const breakdowns = measured.map((run) => cpuBreakdown(join(profiles, file), run.window.from, run.window.to));
    const markdown = report(measured, breakdowns);
    writeReportSection('command-path', markdown);
    process.stdout.write(`${markdown}\n`);
  } finally {
    delete process.env.BENCH_LEDGER_NODE_FLAGS;
    if (!kept) rmSync(profiles, { recursive: true, force: true });
    await database.close();
    await server.stop();
  }
}

function report(measured: Measured[], breakdowns: CpuBreakdown[]): string {
  const categories = [...new Set(breakdowns.flatMap((breakdown) => [...breakdown.byCategory.keys()]))].sort(
    (a, b) => (breakdowns[0]!.byCategory.get(b) ?? 0) - (breakdowns[0]!.byCategory.get(a) ?? 0),
  );
  const perEvent = (i: number, value: number) => `${((value * 1000) / measured[i]!.events).toFixed(0)} µs`;
  const rows = categories.map(
    (name) => `| ${name} | ${breakdowns.map((b, i) => perEvent(i, b.byCategory.get(name) ?? 0)).join(' | ')} |`,
  );
  return [
    '## The command path, CPU per event (issue 14, item 2)',
    '',
    `\`npm run bench:command-path\`: the ledger with its workers off, under \`node --cpu-prof\`, ${SECONDS} s ` +
      'closed-loop windows over TCP with an API key per message; the profile samples inside each window, split by ' +
      'the innermost frame that belongs to one part of the path (a socket write counts for whoever wrote), divided ' +
      'by the events of the window. The profiler itself adds some cost; the machine (2 cores) was shared with other ' +
      'sessions: compare the parts, not the absolute numbers.',
    '',
    machineLine(),
    '',
    `| part of the command path | ${measured.map((run) => `${run.clients} client${run.clients > 1 ? 's' : ''}`).join(' | ')} |`,
    `| --- | ${measured.map(() => '---:').join(' | ')} |`,
    ...rows,
    `| **total (profile)** | ${breakdowns.map((b, i) => `**${perEvent(i, b.busyMs)}**`).join(' | ')} |`,
    `| ledger process CPU (/proc) | ${measured.map((run) => `${(run.processCpu * 1000).toFixed(0)} µs`).join(' | ')} |`,
    `| events/s, p99 | ${measured.map((run) => `${Math.round(run.eventsPerSecond)}/s, ${ms(run.p99)} ms`).join(' | ')} |`,
  ].join('\n');
}
