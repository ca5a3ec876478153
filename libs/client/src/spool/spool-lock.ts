import { randomBytes } from 'node:crypto';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { SpoolLockedError, type LockHolder } from '../errors.js';
import { PRIVATE_FILE_MODE } from './durable-files.js';

const LockFile = z.object({
  pid: z.number().int().positive(),
  hostname: z.string(),
  acquiredAt: z.string(),
  token: z.string(),
});
type LockFile = z.infer<typeof LockFile>;

const POLL_MS = 25;

/**
 * Exclusive ownership of a spool directory across processes: only the holder appends, drains and compacts.
 * The lock file appears complete or not at all (hard link of a fully written file). A lock whose pid is dead on
 * this host is stale and taken over; two processes taking over the same stale lock at the same instant is the one
 * race left, and the worst it can do is send an entry twice, which the ledger ignores.
 */
export class SpoolLock {
  private constructor(
    private readonly path: string,
    private readonly token: string,
  ) {}

  /** Waits up to `waitMs` for a live holder to let go, then throws `SpoolLockedError`. */
  static async acquire(path: string, spoolDir: string, waitMs: number): Promise<SpoolLock> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const attempt = await SpoolLock.tryAcquire(path);
      if (attempt instanceof SpoolLock) return attempt;
      if (Date.now() >= deadline) throw new SpoolLockedError(spoolDir, attempt);
      await sleep(POLL_MS);
    }
  }

  /** The lock, or who holds it. */
  static async tryAcquire(path: string): Promise<SpoolLock | LockHolder> {
    const mine: LockFile = {
      pid: process.pid,
      hostname: hostname(),
      acquiredAt: new Date().toISOString(),
      token: randomBytes(8).toString('hex'),
    };
    const temporary = `${path}.${mine.token}.tmp`;
    await writeFile(temporary, JSON.stringify(mine), { mode: PRIVATE_FILE_MODE });
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          await link(temporary, path);
          return new SpoolLock(path, mine.token);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
        const holder = await readHolder(path);
        if (holder && !isStale(holder)) return holder;
        await unlink(path).catch(() => undefined);
      }
      return (await readHolder(path)) ?? { pid: 0, hostname: 'unknown', acquiredAt: 'unknown' };
    } finally {
      await unlink(temporary).catch(() => undefined);
    }
  }

  /** Removes the lock file if it is still ours (a process that outlived its stale lock must not remove a new one). */
  async release(): Promise<void> {
    const holder = await readHolder(this.path);
    if (holder?.token === this.token) await unlink(this.path).catch(() => undefined);
  }
}

async function readHolder(path: string): Promise<LockFile | undefined> {
  try {
    return LockFile.parse(JSON.parse(await readFile(path, 'utf8')));
  } catch {
    return undefined;
  }
}

function isStale(holder: LockFile): boolean {
  if (holder.hostname !== hostname()) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
