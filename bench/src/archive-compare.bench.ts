/**
 * `npm run bench:archive:compare`: `archiveBefore` of two (or more) builds, interleaved on the same machine, each run a
 * fresh copy (CREATE DATABASE … TEMPLATE) of one database holding BENCH_ARCHIVE_EVENTS events (default 200,000) filled
 * and sealed once as bench:archive does, and a fresh process (archive-compare-run.ts). BENCH_ARCHIVE_COMPARE lists
 * the builds as `label=<checkout root with built libs/*\/dist>` separated by spaces (required; `this` stands for
 * this checkout, e.g. `old=../before this`); BENCH_ARCHIVE_ROUNDS rounds (default 3), the order alternating;
 * BENCH_ARCHIVE_NODE_FLAGS flags for the runs' Node processes (e.g. `--cpu-prof --cpu-prof-dir=<dir>`). Prints each run and, per
 * build, the medians of events/s, CPU seconds of the archiving process (all threads) and of PostgreSQL. Writes no
 * report section: its numbers go into the prose of docs/benchmarks.md.
 */
import { PostgresEventStore, runMigrations } from '@audit-ledger/event-store';
import { resolveIntegrityKeys } from '@audit-ledger/evidence';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { fillEvents, sealInThousands } from './archive-workload.js';
import { benchServer } from './environment.js';

interface Run {
  label: string;
  events: number;
  files: number;
  wall: number;
  cpu: number;
  postgresCpu: number;
  load: number;
}

const here = fileURLToPath(new URL('../..', import.meta.url));
const builds = (process.env.BENCH_ARCHIVE_COMPARE ?? '')
  .replaceAll(/=this(?=\s|$)/g, `=${here}`)
  .split(/\s+/)
  .filter(Boolean)
  .map((build) => {
    const at = build.indexOf('=');
    if (at <= 0) throw new Error('BENCH_ARCHIVE_COMPARE must list label=<checkout root> separated by spaces');
    return { label: build.slice(0, at), root: build.slice(at + 1) };
  });
if (builds.length === 0) {
  throw new Error('set BENCH_ARCHIVE_COMPARE, e.g. "old=<another checkout, built> new=this"');
}
const rounds = Number(process.env.BENCH_ARCHIVE_ROUNDS ?? 3);
const events = Number(process.env.BENCH_ARCHIVE_EVENTS ?? 200_000);
const nodeFlags = (process.env.BENCH_ARCHIVE_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const dir = mkdtempSync(join(tmpdir(), 'ledger-archive-compare-'));
const server = await benchServer();
const template = await server.database();
const runs: Run[] = [];
try {
  await runMigrations(template.url);
  const store = await PostgresEventStore.connect({ connectionString: template.url, migrate: false, poolSize: 2 });
  const sql = new pg.Client({ connectionString: template.url });
  await sql.connect();
  const dataDir = join(dir, 'data');
  const keys = resolveIntegrityKeys({ dataDir });
  await fillEvents(sql, {
    count: events,
    streams: 2_000,
    streamPrefix: 'approval-bench',
    firstRecordedAt: new Date('2025-01-01T00:00:00Z'),
    stepMs: 100,
  });
  await sql.query('SELECT ledger.roll_event_partition()');
  await sealInThousands({
    store,
    keys,
    partitionStarts: async () =>
      (await sql.query<{ p: string }>('SELECT first_position::text AS p FROM ledger.event_partitions')).rows.map((r) =>
        BigInt(r.p),
      ),
  });
  await sql.query('VACUUM ANALYZE ledger.events');
  const backend = (await sql.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  const postmaster = readFileSync(`/proc/${backend}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]!;
  await sql.end();
  await store.close();
  const templateName = new URL(template.url).pathname.slice(1);
  const adminUrl = new URL(template.url);
  adminUrl.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  try {
    for (let round = 0; round < rounds; round++) {
      for (const { label, root } of round % 2 ? [...builds].reverse() : builds) {
        const name = `${templateName}_${round}_${label.replace(/\W/g, '')}`;
        await admin.query(`CREATE DATABASE ${name} TEMPLATE ${templateName}`);
        const url = new URL(template.url);
        url.pathname = `/${name}`;
        const out = join(dir, `out-${name}`);
        const child = spawnSync(
          process.execPath,
          [
            ...nodeFlags,
            fileURLToPath(new URL('./archive-compare-run.js', import.meta.url)),
            root,
            url.toString(),
            dataDir,
            out,
          ],
          { encoding: 'utf8', env: { ...process.env, PG_POSTMASTER: postmaster } },
        );
        rmSync(out, { recursive: true, force: true });
        await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
        if (child.status !== 0) throw new Error(`${label}: ${child.stderr}`);
        const run = { label, ...(JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Omit<Run, 'label'>) };
        if (run.events !== events) throw new Error(`${label} archived ${run.events} events`);
        runs.push(run);
        process.stdout.write(
          `${label}: ${Math.round(run.events / run.wall)} events/s, ${run.wall.toFixed(2)} s, CPU ${run.cpu.toFixed(2)} s ` +
            `(PostgreSQL ${run.postgresCpu.toFixed(2)} s), ${run.files} files, load ${run.load.toFixed(1)}\n`,
        );
      }
    }
  } finally {
    await admin.end();
  }
} finally {
  await template.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
for (const { label } of builds) {
  const mine = runs.filter((run) => run.label === label);
  process.stdout.write(
    `${label}: median ${Math.round(median(mine.map((run) => run.events / run.wall)))} events/s, CPU ` +
      `${median(mine.map((run) => run.cpu)).toFixed(2)} s, PostgreSQL ${median(mine.map((run) => run.postgresCpu)).toFixed(2)} s ` +
      `(${mine.length} runs, load ${mine.map((run) => run.load.toFixed(1)).join(', ')})\n`,
  );
}
