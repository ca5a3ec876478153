/**
 * `npm run bench:reconcile:processor` (also run by `npm run bench:reconcile`): the reconciliation saga end to end.
 * 100 synthetic approvals × 10 executions (reconcile-throughput.ts) are appended directly with the PostgreSQL event
 * store while no processor runs; then the reconciliation processor is started as the ledger starts it
 * (`startReconciliation`) from position 0, and the time until all 1,000 verdict events are appended is measured.
 * A second run also starts the read-model projections next to it (as `npm start` does) and measures until the
 * 1,000 verdicts are in `read_models.reconciliation_verdicts`. Each run uses a fresh database. Writes its section of
 * docs/benchmarks.md.
 */
import { approvalStreamId } from '@audit-ledger/domain';
import { PostgresEventStore, type EventStore } from '@audit-ledger/event-store';
import { loadConfig, startReconciliation } from '@audit-ledger/ledger';
import { ProjectionRunner, projectionsWithReconciliation } from '@audit-ledger/read-models';
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { pino } from 'pino';
import { benchDatabase } from './environment.js';
import { writeReportSection } from './report-section.js';
import { EXECUTIONS_PER_APPROVAL, executionOf, grantOf, THROUGHPUT_APPROVALS } from './reconcile-throughput.js';

const TARGET_MS = 1000;
const RUNS = Number(process.env.BENCH_RECONCILE_RUNS ?? 3);
const VERDICT_TYPES = ['ExecutionReconciled', 'ReconciliationUnclear', 'MismatchDetected'];
const EXPECTED = THROUGHPUT_APPROVALS * EXECUTIONS_PER_APPROVAL;

/** One append per approval stream: the grant and its ten executions, as a gateway would have logged them. */
async function seed(store: EventStore): Promise<void> {
  for (let approval = 0; approval < THROUGHPUT_APPROVALS; approval++) {
    const { grant, commands } = grantOf(approval);
    const approvalId = `tp-${approval}`;
    const events = [
      { type: grant.type, data: grant.data as unknown as Record<string, unknown> },
      ...Array.from({ length: EXECUTIONS_PER_APPROVAL }, (_, index) => ({
        type: 'ExecutionLogged',
        data: executionOf(approval, index, commands[index % commands.length]!) as unknown as Record<string, unknown>,
      })),
    ];
    await store.appendToStream(
      approvalStreamId(approvalId),
      events.map((event, n) => ({
        eventId: randomUUID(),
        ...event,
        metadata: { correlationId: approvalId, causationId: approvalId, actor: 'bench', schemaVersion: 1, n },
      })),
      { expectedRevision: 'no_stream' },
    );
  }
}

interface RunResult {
  /** From `startReconciliation` until the processor has appended every verdict. */
  appendedMs: number;
  /** Until the verdicts are in the read model (only when the projections ran). */
  projectedMs?: number;
  verdicts: Record<string, number>;
  database: string;
  /** Store calls the processor made until the last verdict was appended. */
  calls: { readStream: number; appendToStream: number };
}

/** The store with its reads and appends counted: the processor's round trips, not its wall time. */
function countingStore(store: EventStore): { store: EventStore; calls: RunResult['calls'] } {
  const calls = { readStream: 0, appendToStream: 0 };
  const counted: EventStore = {
    appendToStream: (...args) => (calls.appendToStream++, store.appendToStream(...args)),
    readStream: (...args) => (calls.readStream++, store.readStream(...args)),
    readAll: (...args) => store.readAll(...args),
    subscribeToAll: (...args) => store.subscribeToAll(...args),
    streamExists: (...args) => store.streamExists(...args),
    close: () => store.close(),
  };
  return { store: counted, calls };
}

async function until(what: string, deadlineMs: number, probe: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = performance.now() + deadlineMs;
  while (!(await probe())) {
    if (performance.now() > deadline) throw new Error(`bench: not within ${deadlineMs} ms: ${what}`);
    await sleep(2);
  }
}

async function run(withProjections: boolean): Promise<RunResult> {
  const database = await benchDatabase();
  const logger = pino({ level: 'silent' });
  const store = await PostgresEventStore.connect({ connectionString: database.url, logger });
  const sql = new pg.Pool({ connectionString: database.url, max: 1 });
  try {
    await seed(store);
    const config = loadConfig(
      { databaseUrl: database.url, reconciliationEnabled: true, logLevel: 'silent', dataDir: '/nonexistent' },
      {},
    );
    const counted = countingStore(store);
    const started = performance.now();
    const reconciliation = await startReconciliation(config, counted.store, database.url, logger);
    const projections = withProjections
      ? await ProjectionRunner.start({
          store,
          connectionString: database.url,
          projections: projectionsWithReconciliation(),
          logger,
        })
      : undefined;
    try {
      await until('1,000 verdicts appended', 120_000, () => reconciliation.status().appended >= EXPECTED);
      const appendedMs = performance.now() - started;
      const calls = { ...counted.calls };
      let projectedMs: number | undefined;
      if (projections) {
        await until('1,000 verdicts projected', 120_000, async () => {
          const { rows } = await sql.query<{ n: string }>(
            `SELECT count(*)::text AS n FROM read_models.reconciliation_verdicts WHERE execution_id IS NOT NULL`,
          );
          return Number(rows[0]!.n) >= EXPECTED;
        });
        projectedMs = performance.now() - started;
      }
      const { rows } = await sql.query<{ type: string; n: string }>(
        `SELECT type, count(*)::text AS n FROM ledger.events WHERE type = ANY($1) GROUP BY type`,
        [VERDICT_TYPES],
      );
      const verdicts = Object.fromEntries(rows.map((row) => [row.type, Number(row.n)]));
      const total = Object.values(verdicts).reduce((a, b) => a + b, 0);
      if (total !== EXPECTED) throw new Error(`bench: ${total} verdict events in the store, expected ${EXPECTED}`);
      return {
        appendedMs,
        ...(projectedMs !== undefined ? { projectedMs } : {}),
        verdicts,
        database: database.label,
        calls,
      };
    } finally {
      await projections?.stop();
      await reconciliation.stop();
    }
  } finally {
    await sql.end();
    await store.close();
    await database.close();
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const f0 = (ms: number) => ms.toFixed(0);

async function main(): Promise<void> {
  const load = loadavg()[0]!.toFixed(1); // other work on the machine shows in these timings
  const alone: RunResult[] = [];
  const withReadModels: RunResult[] = [];
  for (let i = 0; i < RUNS; i++) {
    alone.push(await run(false));
    withReadModels.push(await run(true));
  }
  const label = alone[0]!.database;
  const appended = median(alone.map((r) => r.appendedMs));
  const appendedWithProjections = median(withReadModels.map((r) => r.appendedMs));
  const projected = median(withReadModels.map((r) => r.projectedMs!));
  const verdicts = alone[0]!.verdicts;
  const markdown = [
    '## Reconciliation processor catch-up',
    '',
    `Written by \`npm run bench:reconcile:processor\` on ${new Date().toISOString()}. Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average ${load} at the start. Database: ${label}.`,
    '',
    `${THROUGHPUT_APPROVALS} approvals × ${EXECUTIONS_PER_APPROVAL} executions (${EXPECTED} \`ExecutionLogged\`, the synthetic workload of`,
    'the decider throughput line) appended with the event store while no processor runs; then the reconciliation',
    'processor starts from position 0 as the ledger starts it (`startReconciliation`: schema check, checkpoint,',
    'subscription, 64 lanes) and the clock runs until all verdict events are appended (durably). Median of',
    `${RUNS} runs, a fresh database each.`,
    '',
    '| run | median ms | runs ms | target |',
    '|---|---:|---:|---|',
    `| processor alone: ${EXPECTED} verdicts appended | **${f0(appended)}** | ${alone.map((r) => f0(r.appendedMs)).join(', ')} | < ${TARGET_MS} ms: ${appended < TARGET_MS ? 'met' : 'not met'} |`,
    `| processor + read-model projections: verdicts appended | ${f0(appendedWithProjections)} | ${withReadModels.map((r) => f0(r.appendedMs)).join(', ')} | |`,
    `| processor + read-model projections: verdicts in \`reconciliation_verdicts\` | ${f0(projected)} | ${withReadModels.map((r) => f0(r.projectedMs!)).join(', ')} | |`,
    '',
    `Store calls by the processor until the last verdict (first run): ${alone[0]!.calls.readStream} stream reads, ${alone[0]!.calls.appendToStream} appends.`,
    '',
    `Verdicts: ${Object.entries(verdicts)
      .map(([type, n]) => `${n} ${type}`)
      .join(', ')}.`,
  ].join('\n');
  console.log(markdown);
  writeReportSection('reconcile-processor', markdown);
  console.log('\nwrote the reconciliation processor section of docs/benchmarks.md');
}

await main();
