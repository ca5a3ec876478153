import { machineLine } from './machine.js';
import { writeReportSection } from './report-section.js';
import { ms, type LatencyStats } from './stats.js';
import { VERIFY_TARGET_EVENTS_PER_SECOND, type VerificationResult } from './verification.js';

export interface BenchRow {
  scenario: string;
  eventsPerSecond: number;
  latency: LatencyStats;
}

/** Prints the table and writes docs/benchmarks.md with the machine, the targets and the ratio to the naive way. */
export function writeReport(
  rows: BenchRow[],
  context: { seconds: number; database: string; verification?: VerificationResult },
): void {
  const header = '| scenario | events/s | p50 ms | p95 ms | p99 ms | max ms | events |';
  const lines = rows.map(
    (row) =>
      `| ${row.scenario} | ${Math.round(row.eventsPerSecond)} | ${ms(row.latency.p50)} | ${ms(row.latency.p95)} | ${ms(row.latency.p99)} | ${ms(row.latency.max)} | ${row.latency.count} |`,
  );
  const table = [header, '|---|---:|---:|---:|---:|---:|---:|', ...lines].join('\n');
  const naive = rows.find((row) => row.scenario.startsWith('naive'));
  const best = rows
    .filter((row) => row.scenario.startsWith('ledger'))
    .sort((a, b) => b.eventsPerSecond - a.eventsPerSecond)[0];
  const paced = rows.find((row) => row.scenario.includes('paced') && row.scenario.includes('command path'));
  const busiest = rows.find(
    (row) => row.scenario.includes('32 clients') && row.scenario.startsWith('ledger (command path only)'),
  );
  const checkpointed = rows.find(
    (row) =>
      row.scenario.includes('32 clients') &&
      row.scenario.startsWith('ledger (command path + checkpoints every second)'),
  );
  const checkpointRatio =
    busiest && checkpointed ? (checkpointed.eventsPerSecond / busiest.eventsPerSecond).toFixed(2) : 'n/a';
  const verification = context.verification;
  const verify = verification
    ? `Verification throughput: \`verifyLedger\` (what \`ledger verify\` runs) over the default run's database, after
its ledger stopped: **${Math.round(verification.eventsPerSecond)} events/s**${verification.runs ? ` (median of ${verification.runs.length} runs over the same events: ${verification.runs.map((r) => Math.round(r)).join(', ')} events/s; the first pays the process's warm-up)` : ''} (target ${VERIFY_TARGET_EVENTS_PER_SECOND.toLocaleString('en')} events/s, ${verification.eventsPerSecond >= VERIFY_TARGET_EVENTS_PER_SECOND ? 'met' : 'not met'}):
${verification.eventsChecked} events in ${verification.streamsChecked} streams, ${verification.checkpointsChecked} checkpoints
(${verification.rangesChecked} ranges re-hashed), ${verification.unsealedEvents} events after the last checkpoint, in
${verification.seconds.toFixed(2)} s; ${verification.ok ? 'no problems found' : `FAILED: ${verification.firstProblem}`}. ${verification.fromRun} events came from the ledger run${verification.appended > 0 ? `; ${verification.appended} execution-sized events were appended directly with the event store and sealed with the ledger's key every 1,000 events first, so the run holds enough to measure` : ''}. The table is vacuumed before the runs, as autovacuum would have done in service.`
    : 'Verification throughput: not measured.';

  const ratio = naive && best ? (best.eventsPerSecond / naive.eventsPerSecond).toFixed(1) : 'n/a';
  const markdown = `## Append

Written by \`npm run bench\` on ${new Date().toISOString()}. ${machineLine()}. Database: ${context.database}.
Each scenario runs ${context.seconds} s (\`BENCH_SECONDS\`). In the ledger rows every event is an \`ExecutionLogged\` sent by a
client over the NestJS TCP transport to the ledger running as its own process, validated, hash-chained and committed
durably (\`synchronous_commit\` on) before the acknowledgement returns. Latency is from send (or, when paced, from the
scheduled send time) to the durable acknowledgement. The event-store-alone row calls the PostgreSQL event store in the
benchmark's own process (same event size, same durability, no transport or command handling): the gap between it and
the 32-client ledger rows is what the rest of the ledger process costs. The ledger runs three times: with the command path
only (projections, reconciliation and checkpoint sealing switched off, as when they run in a separate worker process),
with the command path and checkpoint sealing every second (the defaults: \`LEDGER_CHECKPOINT_EVERY_MS=1000\`,
\`LEDGER_CHECKPOINT_EVERY_EVENTS=10000\`; 32-client closed loop only), and as \`npm start\`
runs it, with all of them in the same process on the same two cores.

${table}

Best ledger throughput vs the naive audit-table logger: **${ratio}×**.

Checkpoint overhead: with a checkpoint sealed every second (or every 10,000 events, the defaults), 32 clients append at
**${checkpointRatio}×** the rate without sealing (${Math.round(checkpointed?.eventsPerSecond ?? 0)} vs ${Math.round(busiest?.eventsPerSecond ?? 0)} events/s).

${verify}

| target | measured | met |
|---|---|---|
| p99 append latency under 10 ms at 1,000 events/s | ${paced ? `${ms(paced.latency.p99)} ms` : 'n/a'} | ${paced && paced.latency.p99 < 10 ? 'yes' : 'no'} |
| at least 10,000 events/s with 32 clients | ${Math.round(busiest?.eventsPerSecond ?? 0)} events/s | ${(busiest?.eventsPerSecond ?? 0) >= 10_000 ? 'yes' : 'no'} |

The targets are read from the command-path rows.

The ledger, PostgreSQL and the benchmark's clients share the machine's cores; numbers are for this machine only.
`;
  writeReportSection('append', markdown);
  process.stdout.write(
    `\n${table}\n\nledger/naive: ${ratio}x   checkpoints every second/none (32 clients): ${checkpointRatio}x   written to docs/benchmarks.md\n`,
  );
}
