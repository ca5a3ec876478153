import { MESSAGE_PATTERNS, type CommandAck } from '@audit-ledger/domain';
import { localKeyFor } from '@audit-ledger/client';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tcpClientAs } from '../support/ledger-app.js';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { firstValueFrom, timeout } from 'rxjs';
import { freePort } from '../../apps/ledger/src/shared/free-port.js';
import { anApproval } from '../support/fixtures.js';
import { spawnLedger, type LedgerProcess } from '../support/ledger-process.js';
import { connectRaw, type RawConnection } from '../support/raw-tcp.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const MiB = 1024 * 1024;
const MAX_FRAME = 4 * MiB;
const HEAP_LIMIT_MB = 160;

/** Resident memory of a process (Linux), or undefined elsewhere. */
function rssOf(pid: number): number | undefined {
  const status = `/proc/${pid}/status`;
  if (!existsSync(status)) return undefined;
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(status, 'utf8'));
  return match ? Number(match[1]) * 1024 : undefined;
}

/** The spawned ledger's data directory: its first start writes the local keys there. */
const dataDir = mkdtempSync(join(tmpdir(), 'ledger-tcp-memory-'));

async function grant(port: number): Promise<CommandAck> {
  const client = tcpClientAs(port, localKeyFor(dataDir, 'gateway')!);
  try {
    return await firstValueFrom(
      client.send<CommandAck>(MESSAGE_PATTERNS.grantApproval, anApproval()).pipe(timeout(10_000)),
    );
  } finally {
    await client.close();
  }
}

/** 40 connections each announcing `length` and then sending `bytes` of it (or until the ledger closes them). */
async function flood(port: number, length: number, bytes: number): Promise<RawConnection[]> {
  const connections = await Promise.all(Array.from({ length: 40 }, () => connectRaw(port)));
  const chunk = Buffer.alloc(256 * 1024, 'x');
  await Promise.all(
    connections.map(async (c) => {
      await c.write(`${length}#"`);
      for (let sent = 0; sent < bytes && !c.isClosed(); sent += chunk.length) await c.write(chunk);
    }),
  );
  return connections;
}

describe('the ledger process under the TCP memory attack of issue 10 (scaled to a 160 MB heap)', () => {
  let database: TestDatabase;
  let ledger: LedgerProcess | undefined;
  let tcpPort: number;
  beforeAll(async () => {
    database = await createTestDatabase();
    tcpPort = await freePort();
    ledger = await spawnLedger(
      {
        DATABASE_URL: database.url,
        LEDGER_DATA_DIR: dataDir,
        NODE_OPTIONS: `--max-old-space-size=${HEAP_LIMIT_MB}`,
        LEDGER_TCP_PORT: String(tcpPort),
        LEDGER_HTTP_PORT: String(await freePort()),
        LEDGER_CHECKPOINTS_ENABLED: 'false',
        LEDGER_RECONCILIATION_ENABLED: 'false',
        LEDGER_TCP_MAX_FRAME_BYTES: String(MAX_FRAME),
        LEDGER_TCP_MAX_BUFFERED_BYTES: String(4 * MAX_FRAME),
      },
      tcpPort,
    );
  });
  afterAll(async () => {
    await ledger?.stop();
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('given 40 connections announcing 999,999,999 characters and 40 buffering frames of the maximum size, then the ledger survives with bounded memory and keeps serving', async () => {
    await grant(tcpPort);
    const pid = ledger!.child.pid!;
    let peak = rssOf(pid) ?? 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid) ?? 0)), 50);
    try {
      const announced = await flood(tcpPort, 999_999_999, 6 * MiB); // 240 MiB sent
      const maxSized = await flood(tcpPort, MAX_FRAME, MAX_FRAME - 256 * 1024); // 150 MiB, held until the deadline
      await Promise.all(maxSized.map((c) => c.nextReply(() => true, 1_000)));

      expect(ledger!.child.exitCode).toBeNull();
      expect(await grant(tcpPort)).toMatchObject({ duplicate: false });
      for (const c of [...announced, ...maxSized]) c.destroy();
    } finally {
      clearInterval(sampler);
    }
    expect(ledger!.child.exitCode).toBeNull();
    process.stderr.write(`[tcp memory] ledger peak RSS ${Math.round(peak / MiB)} MiB\n`);
    if (peak > 0) expect(peak).toBeLessThan(512 * MiB); // the attack of the issue reached 3.3 GB
    expect(await grant(tcpPort)).toMatchObject({ duplicate: false });
  });
});
