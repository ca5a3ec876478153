/**
 * One run of `npm run bench:archive:compare` (archive-compare.bench.ts), in its own process: `archiveBefore` of the
 * checkout at argv[2] (its built libs/*\/dist) on the database at argv[3], with the keys in argv[4], files into
 * argv[5]. Prints one JSON line: events, files, wall seconds, CPU seconds of this process and of PostgreSQL's
 * processes (the postmaster's pid in PG_POSTMASTER: its live children plus the ones it reaped), load average.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

interface Libraries {
  archive: {
    archiveBefore(
      context: Record<string, unknown>,
    ): Promise<{ archive: { eventCount: number; files: unknown[] } | null }>;
  };
  eventStore: {
    PostgresEventStore: {
      connect(options: Record<string, unknown>): Promise<{ close(): Promise<void> }>;
    };
  };
  evidence: {
    bundlePublicKeys(keys: unknown[]): unknown;
    resolveIntegrityKeys(options: { dataDir: string }): { signing: { publicKey: unknown }; ring: unknown };
  };
}

const [root, url, dataDir, outDir] = process.argv.slice(2) as [string, string, string, string];
const library = async <K extends keyof Libraries>(name: string): Promise<Libraries[K]> =>
  (await import(pathToFileURL(join(root, 'libs', name, 'dist', 'index.js')).href)) as Libraries[K];
const { archiveBefore } = await library<'archive'>('archive');
const { PostgresEventStore } = await library<'eventStore'>('event-store');
const { bundlePublicKeys, resolveIntegrityKeys } = await library<'evidence'>('evidence');

/** CPU seconds of PostgreSQL: the postmaster's reaped children and its live ones. */
function postgresCpuSeconds(postmaster: string): number {
  const fields = (pid: string) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const own = fields(postmaster);
  let ticks = Number(own[13]) + Number(own[14]);
  const children = readFileSync(`/proc/${postmaster}/task/${postmaster}/children`, 'utf8').split(/\s+/);
  for (const child of children.filter(Boolean)) {
    try {
      const stat = fields(child);
      ticks += Number(stat[11]) + Number(stat[12]);
    } catch {
      // ended meanwhile: counted in the postmaster's reaped children
    }
  }
  return ticks / 100;
}

const store = await PostgresEventStore.connect({ connectionString: url, migrate: false, poolSize: 2 });
const keys = resolveIntegrityKeys({ dataDir });
const postmaster = process.env.PG_POSTMASTER!;
const load = loadavg()[0]!;
const postgresBefore = postgresCpuSeconds(postmaster);
const started = performance.now();
const cpu = process.cpuUsage();
const { archive } = await archiveBefore({
  databaseUrl: url,
  store,
  principal: { id: 'key:bench/bench0000', kind: 'api-key', name: 'bench', roles: ['admin'] },
  before: new Date('2026-01-01T00:00:00Z'),
  outDir,
  publicKeys: bundlePublicKeys([keys.signing.publicKey]),
  keys: keys.ring,
});
const wall = (performance.now() - started) / 1000;
const used = process.cpuUsage(cpu);
const postgresCpu = postgresCpuSeconds(postmaster) - postgresBefore;
await store.close();
process.stdout.write(
  JSON.stringify({
    events: archive?.eventCount ?? 0,
    files: archive?.files.length ?? 0,
    wall,
    cpu: (used.user + used.system) / 1e6,
    postgresCpu,
    load,
  }) + '\n',
);
