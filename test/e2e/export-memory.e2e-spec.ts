import { parse } from 'csv-parse';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import pg from 'pg';
import { freePort } from '../../apps/ledger/src/shared/free-port.js';
import { spawnLedger, type LedgerProcess } from '../support/ledger-process.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { localBearer } from '../support/test-credentials.js';

const ROWS = 100_000;
const INSERT_BATCH = 5_000;
/**
 * How much the ledger's resident memory may grow while it streams the export. Streaming holds one keyset batch
 * (1,000 rows as objects, ~2 MB), a 64 KiB output chunk and socket buffers, plus the young generation's churn:
 * measured here 18–21 MiB. Buffering the answer would hold 100,000 row objects at once (measured: 60–90 MB of live
 * heap) and break the bound, or exhaust the capped heap below and cut the download: either fails.
 */
const RSS_GROWTH_BOUND = 64 * 1024 * 1024;
/**
 * V8 collects its old generation lazily (the next mark-compact comes when the heap reaches about 4× what was live
 * after the last one), so with default flags ~90 MB of rows that are already garbage stay resident while a slow
 * client reads, whatever the export's size. Capping the old generation (the idle ledger's live heap is 35–45 MB)
 * makes V8 collect as it goes, so resident memory shows what the export holds, not what it has not yet swept.
 */
const LEDGER_NODE_OPTIONS = '--max-old-space-size=128';
/** The client reads at about this rate, well below what the server can send, so backpressure has to hold. */
const CLIENT_BYTES_PER_MS = 4_000;

const CSV_COLUMNS = [
  'executionId',
  'approvalId',
  'sessionId',
  'workerId',
  'toolName',
  'command',
  'exitCode',
  'startedAt',
  'finishedAt',
  'durationMs',
  'riskLevel',
  'reconciliationVerdict',
  'outputSha256',
  'outputBytes',
  'outputTruncated',
  'globalPosition',
  'recordedAt',
] as const;
type CsvRow = Record<(typeof CSV_COLUMNS)[number], string>;

/** Commands that break naive CSV writers: commas, quotes, CR/LF, leading and trailing spaces, non-ASCII. */
const COMMANDS = [
  (i: number) => `echo "row ${i}, with a comma" >> /tmp/out.csv`,
  (i: number) => `printf 'first line\nsecond line ${i}\r\nthird'`,
  (i: number) => `  kubectl annotate pod p${i} note="say ""hi"""  `,
  (i: number) => `echo ünïcødé ✓ 日本語 ${i} — ok`,
  (i: number) => `docker compose ps --filter name=api-${i}`,
];
const RISKS = ['safe', 'moderate', 'destructive', 'critical', 'none', 'unknown'];
const VERDICTS = [null, 'matched', 'mismatch', 'unclear'];
const BASE_TIME = Date.parse('2026-11-01T00:00:00.000Z');

/** Row `i` as the executions projection would have written it (what the read model holds). */
function seededRow(i: number) {
  const session = i % 7 === 0;
  const approvalId = session ? null : `A-${i % 997}`;
  const sessionId = session ? `S-${i % 13}` : null;
  const startedAt = new Date(BASE_TIME + i * 1000 + (i % 3));
  const durationMs = (i * 37) % 5000;
  return {
    execution_id: `E-${i}`,
    approval_id: approvalId,
    session_id: sessionId,
    worker_id: `worker-${i % 11}`,
    tool_name: i % 4 === 0 ? 'kubectl' : 'shell',
    command: COMMANDS[i % COMMANDS.length]!(i),
    exit_code: i % 9 === 0 ? null : i % 5,
    started_at: startedAt.toISOString(),
    finished_at: new Date(startedAt.getTime() + durationMs).toISOString(),
    duration_ms: durationMs,
    output_sha256: createHash('sha256').update(`output ${i}`).digest('hex'),
    output_bytes: (i * 13) % 70_000,
    output_truncated: (i * 13) % 70_000 > 65_536,
    risk_level: RISKS[i % RISKS.length]!,
    event_id: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
    stream_id: session ? `session-${sessionId}` : `approval-${approvalId}`,
    stream_revision: 1 + (i % 50),
    global_position: 10 + i * 2,
    recorded_at: new Date(startedAt.getTime() + durationMs + 5).toISOString(),
    reconciliation_verdict: VERDICTS[i % VERDICTS.length]!,
  };
}
type SeededRow = ReturnType<typeof seededRow>;

/** What the CSV says for a row: RFC 4180 text, null as an empty field, instants in ISO-8601 UTC. */
const csvOf = (row: SeededRow): CsvRow => ({
  executionId: row.execution_id,
  approvalId: row.approval_id ?? '',
  sessionId: row.session_id ?? '',
  workerId: row.worker_id,
  toolName: row.tool_name,
  command: row.command,
  exitCode: row.exit_code === null ? '' : String(row.exit_code),
  startedAt: row.started_at,
  finishedAt: row.finished_at,
  durationMs: String(row.duration_ms),
  riskLevel: row.risk_level,
  reconciliationVerdict: row.reconciliation_verdict ?? '',
  outputSha256: row.output_sha256,
  outputBytes: String(row.output_bytes),
  outputTruncated: String(row.output_truncated),
  globalPosition: String(row.global_position),
  recordedAt: row.recorded_at,
});

async function seed(databaseUrl: string): Promise<void> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  try {
    for (let start = 0; start < ROWS; start += INSERT_BATCH) {
      const rows = Array.from({ length: Math.min(INSERT_BATCH, ROWS - start) }, (_, k) => seededRow(start + k));
      const column = <K extends keyof SeededRow>(key: K) => rows.map((row) => row[key]);
      await pool.query(
        `INSERT INTO read_models.executions (execution_id, approval_id, session_id, worker_id, tool_name, command,
           exit_code, started_at, finished_at, duration_ms, output_sha256, output_bytes, output_truncated, artifacts,
           risk_level, event_id, stream_id, stream_revision, global_position, recorded_at, reconciliation_verdict,
           reconciled_at)
         SELECT e.execution_id, e.approval_id, e.session_id, e.worker_id, e.tool_name, e.command, e.exit_code,
                e.started_at, e.finished_at, e.duration_ms, e.output_sha256, e.output_bytes, e.output_truncated, '[]',
                e.risk_level, e.event_id, e.stream_id, e.stream_revision, e.global_position, e.recorded_at,
                e.reconciliation_verdict, CASE WHEN e.reconciliation_verdict IS NULL THEN NULL ELSE e.recorded_at END
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[],
                       $8::timestamptz[], $9::timestamptz[], $10::bigint[], $11::text[], $12::bigint[], $13::bool[],
                       $14::text[], $15::uuid[], $16::text[], $17::int[], $18::bigint[], $19::timestamptz[],
                       $20::text[])
             AS e(execution_id, approval_id, session_id, worker_id, tool_name, command, exit_code, started_at,
                  finished_at, duration_ms, output_sha256, output_bytes, output_truncated, risk_level, event_id,
                  stream_id, stream_revision, global_position, recorded_at, reconciliation_verdict)`,
        [
          column('execution_id'),
          column('approval_id'),
          column('session_id'),
          column('worker_id'),
          column('tool_name'),
          column('command'),
          column('exit_code'),
          column('started_at'),
          column('finished_at'),
          column('duration_ms'),
          column('output_sha256'),
          column('output_bytes'),
          column('output_truncated'),
          column('risk_level'),
          column('event_id'),
          column('stream_id'),
          column('stream_revision'),
          column('global_position'),
          column('recorded_at'),
          column('reconciliation_verdict'),
        ],
      );
    }
  } finally {
    await pool.end();
  }
}

/** Resident set size of a process, from /proc (Linux). */
function rssOf(pid: number): number {
  const line = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!line) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(line[1]) * 1024;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

describe('CSV export of 100,000 executions (the ledger as its own process)', () => {
  let database: TestDatabase;
  let dataDir: string;
  let ledger: LedgerProcess | undefined;
  let httpPort: number;

  beforeAll(async () => {
    database = await createTestDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'ledger-export-memory-'));
    const tcpPort = await freePort();
    httpPort = await freePort();
    ledger = await spawnLedger(
      {
        DATABASE_URL: database.url,
        LEDGER_DATA_DIR: dataDir,
        LEDGER_TCP_PORT: String(tcpPort),
        LEDGER_HTTP_PORT: String(httpPort),
        LEDGER_TOKEN_HMAC_SECRET: 'test-secret-0123456789abcdef',
        LEDGER_RECONCILIATION_ENABLED: 'false',
        LEDGER_CHECKPOINTS_ENABLED: 'false',
        NODE_OPTIONS: LEDGER_NODE_OPTIONS,
      },
      tcpPort,
    );
    // The export reads only the read model: seeding its table directly stands in for 100,000 projected events.
    await seed(database.url);
  });

  afterAll(async () => {
    await ledger?.stop();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('streams with flat memory to a slow client, and parses back to exactly the seeded rows', async () => {
    const url = `http://127.0.0.1:${httpPort}/v1/executions/export?format=csv&order=asc`;
    const pid = ledger!.child.pid!;
    // Warm up the export path (query pool, serialisers) on a few rows, then take the idle size.
    const warm = await fetch(`${url}&workerId=worker-1&from=2026-11-01T00:00:00Z&to=2026-11-01T00:10:00Z`, {
      headers: localBearer(dataDir, 'security'),
    });
    expect(warm.status).toBe(200);
    await warm.text();
    await sleep(300);
    const idle = rssOf(pid);

    let peak = idle;
    let samples = 0;
    const sample = () => {
      peak = Math.max(peak, rssOf(pid));
      samples++;
    };
    // Sampled on a timer and at every chunk the client reads, so a busy test process cannot miss the peak.
    const sampler = setInterval(sample, 50);
    const parser = parse({ columns: true });
    let index = 0;
    const wrong: { index: number; got: unknown; want: CsvRow }[] = [];
    parser.on('readable', () => {
      for (let record: CsvRow | null; (record = parser.read() as CsvRow | null) !== null; index++) {
        const want = csvOf(seededRow(index));
        if (wrong.length < 3 && JSON.stringify(record) !== JSON.stringify(want))
          wrong.push({ index, got: record, want });
      }
    });
    let header = '';
    let bytes = 0;
    try {
      const response = await fetch(url, { headers: localBearer(dataDir, 'security') });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      const started = Date.now();
      for await (const chunk of response.body!) {
        if (!header) header = Buffer.from(chunk).toString('utf8').split('\r\n')[0]!;
        bytes += chunk.byteLength;
        sample();
        parser.write(chunk);
        const ahead = bytes / CLIENT_BYTES_PER_MS - (Date.now() - started);
        if (ahead > 0) await sleep(ahead);
      }
      parser.end();
      await finished(parser);
    } finally {
      clearInterval(sampler);
    }

    expect(header).toBe(CSV_COLUMNS.join(','));
    expect(bytes).toBeGreaterThan(20 * 1024 * 1024);
    expect(wrong).toEqual([]);
    expect(index).toBe(ROWS);
    expect(samples).toBeGreaterThan(100);
    expect({ idle: mib(idle), peak: mib(peak), withinBound: peak - idle < RSS_GROWTH_BOUND }).toEqual({
      idle: mib(idle),
      peak: mib(peak),
      withinBound: true,
    });
  });
});
