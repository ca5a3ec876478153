/**
 * Archive throughput (issue 13): `ledger archive --before` over BENCH_ARCHIVE_EVENTS execution-sized events (default
 * 200,000, in 2,000 streams, recorded in 2025) in a closed partition sealed every 1,000 events as the ledger seals
 * them: the time of `archiveBefore` (read, prove, write the files, read them back and verify them as one chain,
 * record ArchiveSealed), and of verifying the files again alone (`ledger verify --archive`'s file part).
 */
import { PostgresEventStore, runMigrations } from '@audit-ledger/event-store';
import { archiveBefore, verifyArchiveChain } from '@audit-ledger/archive';
import { bundlePublicKeys, resolveIntegrityKeys } from '@audit-ledger/evidence';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { loadavg } from 'node:os';
import { profileWhile } from './profile-while.js';
import { fillEvents, sealInThousands } from './archive-workload.js';
import { benchDatabase } from './environment.js';
import { machineLine } from './machine.js';
import { writeReportSection } from './report-section.js';

const ARCHIVE_TARGET_EVENTS_PER_SECOND = 100_000;

export interface ArchiveBenchResult {
  events: number;
  files: number;
  archiveSeconds: number;
  archiveEventsPerSecond: number;
  verifySeconds: number;
  verifyEventsPerSecond: number;
  /** CPU time of this process (every thread: the main one and the file-check worker), not PostgreSQL's. */
  archiveCpuSeconds: number;
  verifyCpuSeconds: number;
}

export async function archiveThroughputBench(
  events = Number(process.env.BENCH_ARCHIVE_EVENTS ?? 200_000),
): Promise<ArchiveBenchResult> {
  const load = loadavg()[0]!.toFixed(1);
  const database = await benchDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'ledger-archive-bench-'));
  await runMigrations(database.url);
  const store = await PostgresEventStore.connect({ connectionString: database.url, migrate: false, poolSize: 2 });
  const sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  try {
    const keys = resolveIntegrityKeys({ dataDir: join(dir, 'data') });
    await fillEvents(sql, {
      count: events,
      streams: 2_000,
      streamPrefix: 'approval-bench',
      firstRecordedAt: new Date('2025-01-01T00:00:00Z'),
      stepMs: 100,
    });
    await sql.query('SELECT ledger.roll_event_partition()');
    const starts = async () =>
      (await sql.query<{ p: string }>('SELECT first_position::text AS p FROM ledger.event_partitions')).rows.map((r) =>
        BigInt(r.p),
      );
    await sealInThousands({ store, keys, partitionStarts: starts });
    await sql.query('VACUUM ANALYZE ledger.events');
    const principal = { id: 'key:bench/bench0000', kind: 'api-key' as const, name: 'bench', roles: ['admin' as const] };
    let started = performance.now();
    let cpu = process.cpuUsage();
    const { archive } = await profileWhile(process.env.BENCH_ARCHIVE_PROFILE, () =>
      archiveBefore({
        databaseUrl: database.url,
        store,
        principal,
        before: new Date('2026-01-01T00:00:00Z'),
        outDir: join(dir, 'archives'),
        publicKeys: bundlePublicKeys([keys.signing.publicKey]),
        keys: keys.ring,
      }),
    );
    const archiveSeconds = (performance.now() - started) / 1000;
    const archiveCpuSeconds = cpuSecondsSince(cpu);
    if (!archive || archive.eventCount !== events)
      throw new Error(`the bench archived ${archive?.eventCount ?? 0} events`);
    started = performance.now();
    cpu = process.cpuUsage();
    const check = await verifyArchiveChain(
      archive.files.map((file) => join(dir, 'archives', `archive-${archive.archiveId}`, file.name)),
      keys.ring,
    );
    const verifySeconds = (performance.now() - started) / 1000;
    const verifyCpuSeconds = cpuSecondsSince(cpu);
    if (!check.ok) throw new Error(`the archive does not verify: ${check.problems[0]?.message}`);
    const result = {
      events,
      files: archive.files.length,
      archiveSeconds,
      archiveEventsPerSecond: events / archiveSeconds,
      verifySeconds,
      verifyEventsPerSecond: events / verifySeconds,
      archiveCpuSeconds,
      verifyCpuSeconds,
    };
    process.stdout.write(
      `archive: ${events} events in ${result.files} files in ${archiveSeconds.toFixed(2)} s = ` +
        `${Math.round(result.archiveEventsPerSecond)} events/s (target ${ARCHIVE_TARGET_EVENTS_PER_SECOND}; written, ` +
        `read back and verified, recorded); verifying the files alone: ${verifySeconds.toFixed(2)} s = ` +
        `${Math.round(result.verifyEventsPerSecond)} events/s; CPU of this process: archive ` +
        `${archiveCpuSeconds.toFixed(2)} s, verifying ${verifyCpuSeconds.toFixed(2)} s\n`,
    );
    writeReportSection('archive', archiveSection(result, database.label, load));
    return result;
  } finally {
    await sql.end();
    await store.close();
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function archiveSection(result: ArchiveBenchResult, database: string, load: string): string {
  const met = result.archiveEventsPerSecond >= ARCHIVE_TARGET_EVENTS_PER_SECOND;
  return `## Archive throughput (issue 13)

Written by \`npm run bench:archive\` (also the last part of \`npm run bench\`) on ${new Date().toISOString()}. ${machineLine()}, load average ${load} at the start. Database: ${database}.

${result.events} execution-sized events (~600 bytes of JSON each) in 2,000 streams, recorded in 2025, in one closed
partition sealed every 1,000 events. \`archiveBefore\` (what \`ledger archive --before\` runs) reads the range,
recomputes each checkpoint's tree, writes ${result.files} files with an inclusion proof per event, reads them back and
verifies them as one chain (every hash, link, proof and signature), and records \`ArchiveSealed\`. Target: ≥
${ARCHIVE_TARGET_EVENTS_PER_SECOND.toLocaleString('en')} events/s.

| measured | seconds | events/s | CPU seconds (this process, all threads) | within target |
| --- | ---: | ---: | ---: | --- |
| archive (write + verify + record) | ${result.archiveSeconds.toFixed(2)} | ${Math.round(result.archiveEventsPerSecond)} | ${result.archiveCpuSeconds.toFixed(2)} | ${met ? 'yes' : '**no**'} |
| verifying the files again, alone | ${result.verifySeconds.toFixed(2)} | ${Math.round(result.verifyEventsPerSecond)} | ${result.verifyCpuSeconds.toFixed(2)} | |

Writing reads each file's range with one binary \`COPY\` (the stored payloads' bytes and the recording time as a
binary timestamp, no row objects), builds each checkpoint's tree once from the rows' hash fields (its root must be
the signed one) and copies payloads and audit paths into the file as bytes, through two buffers (one filled while
the other is written), hashing the file's bytes as it goes (the manifest's content hash); while a file is written,
the next file's range is already being read (same connection and snapshot). The writer does not recompute the
events' hashes: as soon as a file is written (and fsync'd), a worker thread reads it back from disk and proves it
from its bytes while the next file is read and written on the main thread: each event's hash recomputed over the
file's own slices (the one time each event is hashed), each checkpoint's tree rebuilt once from the file's hashes
(its signed root), each inclusion proof compared byte for byte with that tree's audit path, the links inside the
file, the content hash and the file's SHA-256 over the bytes, which must be the SHA-256 computed while writing. It
answers with each stream's first and last event in the file and the events' leaf hashes (one transferred buffer).
A file that is not exactly what the writer writes, or holds any problem, is written again with every event's hash
recomputed from the rows (the payloads of events stored before event-store migration 2 canonicalised; an event
matching its hash in no form refused, named) and checked again; one still failing goes to the full \`verify-bundle\`
check, which names the event. The files are then checked as one chain (ranges, checkpoint chain, every stream's
links across files) and the archive-wide Merkle root is computed from the leaf hashes the file checks made.
"Verifying the files again, alone" is \`verifyArchiveChain\` on the written files (what \`ledger verify --archive\`
and \`ledger archive drop\` run): half the files checked in the worker, half on the main thread. What remains is
mostly SHA-256 (six hash calls an event, each one native call: two tree levels in the writer, the event hash and two
tree levels in the check, the archive-wide root's nodes; and the file's bytes hashed while writing and again read
back, both needed: the content hash is written into the file and checked from it), byte copying, PostgreSQL
producing the rows, and garbage collection.`;
}

function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}
