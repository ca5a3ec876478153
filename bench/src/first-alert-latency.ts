/**
 * First alert after a mismatching execution, for `npm run bench` and `npm run bench:alerts`: the ledger as `npm start`
 * runs it, with a webhook sink pointed at a receiver this process runs and a dashboard's SSE stream open, takes
 * executions over TCP at a paced rate, one in `MISMATCH_EVERY` of them a command its approval does not allow. For each
 * of those the bench measures from its acknowledgement until the first alert naming it reached each receiver.
 */
import { localKeyFor } from '@audit-ledger/client';
import type { LogExecutionRequest } from '@audit-ledger/domain';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { sseReceiver, webhookReceiver, type AlertReceiverName, type SseReceiver } from './alert-receivers.js';
import { benchDatabase, spawnBenchLedger, type BenchLedger } from './environment.js';
import { FirstAlerts } from './first-alerts.js';
import { benchGatewayKey, grantBenchApprovals, pacedExecutions, tcpClients } from './ledger-clients.js';
import { machineLine } from './machine.js';
import { writeReportSection } from './report-section.js';
import { latencyStats, ms, type LatencyStats } from './stats.js';
import { BENCH_APPROVED_COMMAND as APPROVED_COMMAND, execution } from './workload.js';

const TARGET_RATE = 1000;
const TARGET_P99_MS = 250;
const RATES = [100, 500, TARGET_RATE];
const CLIENTS = 8;
const MISMATCH_EVERY = 20;
/** A command the reconciler always flags against what `grantBenchApprovals` approves. */
const MISMATCHING_COMMAND = 'docker compose down';
/** After the last acknowledgement, how long every alert gets to arrive before the run counts as not sustained. */
const DRAIN_BOUND_MS = 1000;
/** The most the bench waits for alerts after the last acknowledgement (the rest count as not received). */
const ALERT_WAIT_MS = 10_000;
const RECEIVERS: readonly AlertReceiverName[] = ['webhook', 'sse'];
/** `reconciler began`: from the acknowledgement to the reconciler's clock when it began judging the execution. */
type Column = AlertReceiverName | 'first' | 'reconciler began';

interface AlertRun {
  rate: number;
  ackedPerSecond: number;
  ack: LatencyStats;
  mismatching: number;
  latency: Record<Column, LatencyStats & { missing: number }>;
  /** From the last acknowledgement until every receiver had every alert (or the wait ended). */
  drainMs: number;
  sustained: boolean;
}

interface Acked {
  executionId: string;
  /** `performance.now()` */
  at: number;
  /** `Date.now()`, for the alert's `recordedAt` (ms resolution). */
  wallAt: number;
}

async function waitUntil(done: () => boolean, timeoutMs: number): Promise<number> {
  const start = performance.now();
  while (!done() && performance.now() - start < timeoutMs) await sleep(5);
  return performance.now() - start;
}

/**
 * Latency per column: the column's time minus the acknowledgement's (an alert that came first counts 0); an
 * execution with no alert counts with the time from its acknowledgement until now, so the percentiles are then lower
 * bounds.
 */
function latencies(acked: Acked[], alerts: FirstAlerts): AlertRun['latency'] {
  const received = (receiver: AlertReceiverName) => (a: Acked) => alerts.firstAt(receiver, a.executionId);
  const first = (a: Acked) => {
    const times = RECEIVERS.map((receiver) => alerts.firstAt(receiver, a.executionId)).filter((t) => t !== undefined);
    return times.length ? Math.min(...times) : undefined;
  };
  const [now, wallNow] = [performance.now(), Date.now()];
  const onBenchClock = (at: (a: Acked) => number | undefined) => (a: Acked) => [at(a), a.at, now] as const;
  const columns: Record<Column, (a: Acked) => readonly [number | undefined, number, number]> = {
    first: onBenchClock(first),
    webhook: onBenchClock(received('webhook')),
    sse: onBenchClock(received('sse')),
    'reconciler began': (a) => [alerts.judgedAt(a.executionId), a.wallAt, wallNow],
  };
  return Object.fromEntries(
    Object.entries(columns).map(([column, times]) => {
      let missing = 0;
      const samples = acked.map((a) => {
        const [at, from, until] = times(a);
        if (at === undefined) missing++;
        return Math.max(0, (at ?? until) - from);
      });
      return [column, { ...latencyStats(samples), missing }];
    }),
  ) as AlertRun['latency'];
}

export async function firstAlertLatencyBench(seconds: number): Promise<void> {
  const loadBefore = loadavg();
  const alerts = new FirstAlerts();
  const webhook = await webhookReceiver(alerts.received);
  const database = await benchDatabase();
  const runs: AlertRun[] = [];
  let next = 0;
  const request = (): LogExecutionRequest => {
    const n = next++; // across runs, so that no token is presented twice to its single-use approval
    const mismatching = n % MISMATCH_EVERY === MISMATCH_EVERY - 1;
    const sent = { ...execution(n, n), command: mismatching ? MISMATCHING_COMMAND : APPROVED_COMMAND };
    if (mismatching) alerts.sent(sent.executionId);
    return sent;
  };
  let ledger: BenchLedger | undefined;
  let sse: SseReceiver | undefined;
  try {
    // The default configuration, as `npm start` runs it, plus the webhook sink.
    ledger = await spawnBenchLedger(database.url, webhook.env);
    const security = localKeyFor(ledger.dataDir, 'security')!;
    sse = await sseReceiver(`http://127.0.0.1:${ledger.httpPort}`, security, alerts.received);
    const credential = benchGatewayKey(ledger.dataDir);
    await grantBenchApprovals(ledger.tcpPort, credential);
    const clients = tcpClients(ledger.tcpPort, CLIENTS, credential);
    for (const rate of [0, ...RATES]) {
      const warmUp = rate === 0; // 2 s at 100/s: JIT, pools, plan caches
      const acked: Acked[] = [];
      const run = await pacedExecutions(
        clients,
        warmUp ? 100 : rate,
        warmUp ? 2 : seconds,
        (_ack, at, sent) => {
          if (sent.command === MISMATCHING_COMMAND)
            acked.push({ executionId: sent.executionId, at, wallAt: Date.now() });
        },
        request,
      );
      const received = () =>
        acked.every((a) => RECEIVERS.every((receiver) => alerts.firstAt(receiver, a.executionId) !== undefined));
      const drainMs = await waitUntil(received, ALERT_WAIT_MS);
      if (warmUp) continue;
      const latency = latencies(acked, alerts);
      const ackedPerSecond = run.sent / run.seconds;
      runs.push({
        rate,
        ackedPerSecond,
        ack: latencyStats(run.latencies),
        mismatching: acked.length,
        latency,
        drainMs,
        sustained: ackedPerSecond >= rate * 0.95 && drainMs <= DRAIN_BOUND_MS && received(),
      });
    }
    await Promise.all(clients.map((client) => client.close()));
  } finally {
    await sse?.close();
    await ledger?.stop();
    await webhook.close();
    await database.close();
  }
  report(runs, seconds, database.label, {
    repeated: alerts.repeated,
    unexpected: alerts.unexpected,
    badSignatures: webhook.badSignatures,
    load: [loadBefore, loadavg()],
  });
}

interface Checks {
  repeated: number;
  unexpected: number;
  badSignatures: number;
  load: [number[], number[]];
}

function report(runs: AlertRun[], seconds: number, databaseLabel: string, checks: Checks): void {
  const columns: [Column, string][] = [
    ['first', 'first of either'],
    ['webhook', 'webhook'],
    ['sse', 'SSE stream'],
    ['reconciler began', 'reconciler began judging'],
  ];
  const header =
    '| paced rate | acked/s | ack p99 ms | mismatching executions | receiver | p50 ms | p95 ms | p99 ms | max ms | not received | all received after last ack | sustained |';
  const lines = runs.flatMap((run) =>
    columns.map(([column, name], i) => {
      const l = run.latency[column];
      const atLeast = l.missing ? '≥ ' : '';
      const first = i === 0;
      return `| ${first ? `${run.rate}/s` : ''} | ${first ? Math.round(run.ackedPerSecond) : ''} | ${first ? ms(run.ack.p99) : ''} | ${first ? run.mismatching : ''} | ${name} | ${atLeast}${ms(l.p50)} | ${atLeast}${ms(l.p95)} | ${atLeast}${ms(l.p99)} | ${atLeast}${ms(l.max)} | ${l.missing} | ${first ? `${Math.round(run.drainMs)} ms` : ''} | ${first ? (run.sustained ? 'yes' : 'no') : ''} |`;
    }),
  );
  const table = [header, '|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|', ...lines].join('\n');
  const target = runs.find((run) => run.rate === TARGET_RATE);
  const met = target !== undefined && target.sustained && target.latency.first.p99 <= TARGET_P99_MS;
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(', ');
  const markdown = `## First alert after a mismatching execution

Written by \`npm run bench\` (alone: \`npm run bench:alerts\`) on ${new Date().toISOString()}. ${machineLine()}.
Database: ${databaseLabel}. Load average (1, 5, 15 min) ${load(checks.load[0])} before, ${load(checks.load[1])}
after: the machine may be shared, read the numbers with it.

The ledger runs as \`npm start\` runs it (its own process, every worker on, on a fresh database), with
\`LEDGER_ALERT_WEBHOOK_URL\` pointing at an HTTP server in the benchmark's process that checks each delivery's
signature against its body and answers 204, and with a dashboard's \`GET /v1/alerts/stream\` (server-sent events,
the security key) open from the benchmark. ${CLIENTS} TCP clients send \`ExecutionLogged\` commands paced at a
fixed rate for ${seconds} s per rate (\`BENCH_SECONDS\`), after a 2 s warm-up at 100/s: ${RATES.map((rate) => `${rate}/s`).join(', then ')}.
One execution in ${MISMATCH_EVERY} runs \`${MISMATCHING_COMMAND}\` under an approval of \`${APPROVED_COMMAND}\` (the
reconciler records \`MismatchDetected\` \`command_not_approved\` for it); the others run exactly the approved command
(\`ExecutionReconciled\` MATCH, no alert), each with a token of its own. For each mismatching execution the benchmark
records when its acknowledgement arrived; the first \`MismatchDetected\` alert whose \`data.executionId\` names it is
matched at each receiver when its whole body (webhook) or frame (SSE) has arrived, on the same clock. Latency is
the alert's time minus the acknowledgement's (an alert that came first counts 0); \`first of either\` takes the
earlier receiver per execution; \`reconciler began judging\` is from the acknowledgement to the alert's
\`recordedAt\`, the reconciler's clock when it began judging the execution (the machine's wall clock, ms
resolution): the rest of an alert's latency is judging, appending the verdict and delivering. The benchmark's own
process sends the load too, so its event loop can delay an acknowledgement's time as well as an alert's. An alert not received ${ALERT_WAIT_MS / 1000} s after the last acknowledgement
counts with the time from its acknowledgement to then, so the percentiles are lower bounds (\`≥\`). A run is
sustained when the acknowledged rate is at least 95% of the paced rate and every alert reached both receivers
within ${DRAIN_BOUND_MS} ms of the last acknowledgement. Each run starts after the one before has had its alerts
(or the wait ended); at 100/s a run has only ${(100 * seconds) / MISMATCH_EVERY} mismatching executions, so its p99
is close to its maximum.

${table}

| target | measured | met |
|---|---|---|
| first alert after a mismatching execution p99 ≤ ${TARGET_P99_MS} ms at ${TARGET_RATE.toLocaleString('en')} events/s | ${target ? `${ms(target.latency.first.p99)} ms at ${Math.round(target.ackedPerSecond)} acked/s${target.sustained ? '' : ', not sustained'}` : 'n/a'} | ${met ? 'yes' : 'no'} |

Checks: ${checks.repeated} alerts received again for an execution already alerted at that receiver,
${checks.unexpected} alerts naming no execution sent as mismatching, ${checks.badSignatures} webhook deliveries with
a wrong signature (all three are expected to be 0). The ledger, PostgreSQL and the benchmark share the machine's
cores.
`;
  writeReportSection('first-alert-latency', markdown);
  process.stdout.write(
    `\n${table}\n\nfirst-alert target ${met ? 'met' : 'not met'}; repeated ${checks.repeated}, unexpected ${checks.unexpected}, bad signatures ${checks.badSignatures}; written to docs/benchmarks.md\n`,
  );
}
