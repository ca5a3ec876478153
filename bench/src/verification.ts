/**
 * Verification throughput for `npm run bench`: `verifyLedger` (what `ledger verify` runs) over the database of the
 * default-configuration run, whose ledger sealed checkpoints. When that run holds fewer than `minEvents` events (short
 * BENCH_SECONDS), execution-sized events are appended directly with the event store and sealed with the ledger's own
 * signing key by a `CheckpointSealer` (every 1,000 events, as the ledger does), so the number is not dominated by setup.
 */
import { PostgresEventStore } from '@audit-ledger/event-store';
import {
  CheckpointSealer,
  integrityKeysDir,
  readPublicKeyRing,
  resolveIntegrityKeys,
  verifyLedger,
  type IntegrityKeys,
  type SealerLogger,
} from '@audit-ledger/evidence';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { execution } from './workload.js';

export const VERIFY_TARGET_EVENTS_PER_SECOND = 200_000;

export interface BenchKeys {
  signing: IntegrityKeys['signing'];
  /** The public keys `ledger verify` would read from the data dir's `keys/`. */
  ring: IntegrityKeys['ring'];
}

/** The keys of a bench ledger's data dir, read as the CLI reads them (call before the ledger's stop() removes it). */
export function benchLedgerKeys(dataDir: string): BenchKeys {
  const ring = readPublicKeyRing(integrityKeysDir(dataDir));
  const { signing } = resolveIntegrityKeys({ dataDir });
  return { signing, ring };
}

export interface VerificationResult {
  ok: boolean;
  firstProblem: string | null;
  eventsChecked: number;
  streamsChecked: number;
  checkpointsChecked: number;
  rangesChecked: number;
  unsealedEvents: number;
  /** Events the ledger run left; the rest were appended directly. */
  fromRun: number;
  appended: number;
  seconds: number;
  eventsPerSecond: number;
  /** CPU time of this process (main thread and content worker) per event checked; PostgreSQL's is not included. */
  cpuMicrosPerEvent: number;
  /** Each run's events/s, in order (this result is their median). */
  runs?: number[];
}

const silent: SealerLogger = { info() {}, warn() {}, error() {} };

async function countEvents(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>('SELECT count(*)::text AS n FROM ledger.events');
    return Number(rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

/** Appends up to `wanted` events in batches (stopping at `deadline`), then seals everything every 1,000 events. */
async function topUp(databaseUrl: string, keys: BenchKeys, wanted: number, deadline: number): Promise<number> {
  const store = await PostgresEventStore.connect({ connectionString: databaseUrl, poolSize: 8 });
  let appended = 0;
  try {
    const batch = 250;
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < wanted && performance.now() < deadline) {
          const from = next;
          next += batch;
          const events = Array.from({ length: Math.min(batch, wanted - from) }, (_, i) => {
            const record = execution(from + i, from + i);
            return {
              eventId: record.executionId,
              type: 'ExecutionLogged',
              data: { ...record },
              metadata: { actor: 'bench' },
            };
          });
          await store.appendToStream(`approval-verify-${from / batch}`, events, { expectedRevision: 'any' });
          appended += events.length;
        }
      }),
    );
    const sealer = new CheckpointSealer({
      store,
      keys: { signing: keys.signing },
      everyEvents: 1000,
      everyMs: 3_600_000,
      logger: silent,
      batchSize: 5000,
    });
    while (await sealer.sealIfDue()) {
      // one checkpoint per 1,000 events, as the ledger seals them
    }
    await sealer.sealNow();
  } finally {
    await store.close();
  }
  return appended;
}

/**
 * Tops the database up to `minEvents` and settles it once, then runs `verifyLedger` `runs` times over the same events
 * (`onRun` sees each) and returns the median run, with every run's events/s in `runs`.
 */
export async function verificationThroughput(
  databaseUrl: string,
  keys: BenchKeys,
  options: {
    minEvents: number;
    topUpSeconds: number;
    runs: number;
    onRun(result: VerificationResult, run: number): void;
  },
): Promise<VerificationResult> {
  const fromRun = await countEvents(databaseUrl);
  const appended =
    fromRun < options.minEvents
      ? await topUp(databaseUrl, keys, options.minEvents - fromRun, performance.now() + options.topUpSeconds * 1000)
      : 0;
  await settle(databaseUrl);
  const results: VerificationResult[] = [];
  for (let run = 1; run <= options.runs; run++) {
    const result = { ...(await verifyOnce(databaseUrl, keys)), fromRun, appended };
    options.onRun(result, run);
    results.push(result);
  }
  const median = [...results].sort((a, b) => a.eventsPerSecond - b.eventsPerSecond)[Math.floor(results.length / 2)]!;
  return { ...median, runs: results.map((result) => result.eventsPerSecond) };
}

async function verifyOnce(
  databaseUrl: string,
  keys: BenchKeys,
): Promise<Omit<VerificationResult, 'fromRun' | 'appended' | 'runs'>> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const report = await verifyLedger({ databaseUrl, keys: keys.ring });
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const first = report.firstProblem;
  return {
    ok: report.ok,
    firstProblem: first ? `${first.kind} at ${first.position ?? '-'}: ${first.message}` : null,
    eventsChecked: report.eventsChecked,
    streamsChecked: report.streamsChecked,
    checkpointsChecked: report.checkpointsChecked,
    rangesChecked: report.rangesChecked,
    unsealedEvents: report.unsealedEvents,
    seconds,
    eventsPerSecond: report.eventsChecked / seconds,
    cpuMicrosPerEvent: (used.user + used.system) / report.eventsChecked,
  };
}

/**
 * What autovacuum does to a ledger's table soon after it is written, done now: rows just inserted carry no hint bits
 * yet, so the first scan of them looks every transaction up and writes the table's pages back. A ledger verified in
 * production was written long before; measuring the first scan after a bulk load would measure that one-off work.
 */
async function settle(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('VACUUM (ANALYZE) ledger.events');
    await client.query('CHECKPOINT').catch(() => undefined); // superusers and pg_checkpoint only: optional
  } finally {
    await client.end();
  }
}
