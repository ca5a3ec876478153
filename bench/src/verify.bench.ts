/**
 * `npm run bench:verify`: verification throughput alone, for profiling and A/B comparisons (`npm run bench` measures
 * it too, after its ledger runs). Fills a fresh database with BENCH_VERIFY_EVENTS execution-sized events (default
 * 400,000) sealed every 1,000 events, then runs `verifyLedger` BENCH_VERIFY_RUNS times (default 3) and prints each
 * run's events/s. BENCH_VERIFY_DATABASE_URL + BENCH_VERIFY_KEYS_DIR reuse a database filled by an earlier run with
 * BENCH_VERIFY_KEEP=1 (which prints both and leaves them in place).
 */
import { runMigrations } from '@audit-ledger/event-store';
import { integrityKeysDir, readPublicKeyRing, resolveIntegrityKeys } from '@audit-ledger/evidence';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchDatabase } from './environment.js';
import { VERIFY_TARGET_EVENTS_PER_SECOND, verificationThroughput } from './verification.js';

const events = Number(process.env.BENCH_VERIFY_EVENTS ?? 400_000);
const runs = Number(process.env.BENCH_VERIFY_RUNS ?? 3);
const reuseUrl = process.env.BENCH_VERIFY_DATABASE_URL;
const keep = process.env.BENCH_VERIFY_KEEP === '1';

async function main(): Promise<void> {
  const keysParent = process.env.BENCH_VERIFY_KEYS_DIR ?? mkdtempSync(join(tmpdir(), 'ledger-verify-bench-'));
  const { signing } = resolveIntegrityKeys({ dataDir: keysParent });
  const keys = { signing, ring: readPublicKeyRing(integrityKeysDir(keysParent)) };
  const database = reuseUrl ? undefined : await benchDatabase();
  const url = reuseUrl ?? database!.url;
  if (database) await runMigrations(url);
  try {
    await verificationThroughput(url, keys, {
      minEvents: events,
      topUpSeconds: 600,
      runs,
      onRun: (result, run) =>
        process.stdout.write(
          `verify run ${run}: ${result.eventsChecked} events, ${result.checkpointsChecked} checkpoints in ` +
            `${result.seconds.toFixed(2)} s = ${Math.round(result.eventsPerSecond)} events/s ` +
            `(verifier CPU ${result.cpuMicrosPerEvent.toFixed(1)} µs/event) ` +
            `(target ${VERIFY_TARGET_EVENTS_PER_SECOND}) ${result.ok ? 'OK' : `FAILED: ${result.firstProblem}`}\n`,
        ),
    });
    if (keep && database) {
      process.stdout.write(`BENCH_VERIFY_DATABASE_URL=${url} BENCH_VERIFY_KEYS_DIR=${keysParent}\n`);
    }
  } finally {
    if (database && !keep) await database.close();
  }
}

await main();
