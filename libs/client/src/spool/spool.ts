import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FieldIssue, IdempotencyConflictDetails } from '../errors.js';
import type { ClientLogger } from '../logging/client-logger.js';
import type { MessagePattern } from '../ledger-commands.js';
import { SerialQueue } from '../shared/serial-queue.js';
import { appendDurably, PRIVATE_DIR_MODE, syncDirectory, truncateDurably } from './durable-files.js';
import { SpoolEntry, type ConflictEntry, type RejectedEntry } from './spool-entry.js';
import { SpoolLock } from './spool-lock.js';
import { readLineAt, scanSpoolLog } from './spool-log.js';
import { readProgress, writeProgress } from './spool-progress.js';

export const SPOOL_FILES = {
  entries: 'spool.jsonl',
  progress: 'progress.json',
  rejected: 'rejected.jsonl',
  conflicts: 'conflicts.jsonl',
  lock: 'spool.lock',
} as const;

/** The next entry to send, with where the one after it starts. `entry` is absent for a line that cannot be read. */
export interface PendingRecord {
  line: number;
  next: number;
  entry?: SpoolEntry;
  raw: string;
}

interface HeldState {
  lines: number;
  acked: number;
  /** Byte size of `spool.jsonl`: appends land here. */
  bytes: number;
  /** Byte offset of line `acked + 1`. */
  readOffset: number;
}

/**
 * The durable queue of commands the ledger has not acknowledged yet, in a directory this process owns while it has
 * entries (see `SpoolLock`). Every file operation runs through one queue, so appends, progress and compaction never
 * interleave; sending happens outside, in the drain.
 */
export class Spool {
  private readonly files: Record<keyof typeof SPOOL_FILES, string>;
  private readonly queue = new SerialQueue();
  private lock: SpoolLock | undefined;
  private state: HeldState | undefined;

  constructor(
    readonly dir: string,
    private readonly logger: ClientLogger,
    private readonly lockWaitMs: number,
  ) {
    this.files = {
      entries: join(dir, SPOOL_FILES.entries),
      progress: join(dir, SPOOL_FILES.progress),
      rejected: join(dir, SPOOL_FILES.rejected),
      conflicts: join(dir, SPOOL_FILES.conflicts),
      lock: join(dir, SPOOL_FILES.lock),
    };
  }

  /** Entries this process holds and has not sent yet. */
  get pending(): number {
    return this.state ? this.state.lines - this.state.acked : 0;
  }

  /** Whether entries may be waiting on disk (left by an earlier run), without taking the lock. */
  async mayHaveEntriesOnDisk(): Promise<boolean> {
    if (this.state) return this.pending > 0;
    try {
      return (await stat(this.files.entries)).size > 0;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  /** Takes the lock without waiting when entries wait on disk; false when another live process holds it. */
  async adoptLeftovers(): Promise<boolean> {
    return this.queue.run(async () => {
      if (this.lock) return true;
      await this.ensureDirectory();
      const attempt = await SpoolLock.tryAcquire(this.files.lock);
      if (!(attempt instanceof SpoolLock)) {
        this.logger.warn({ spoolDir: this.dir, holder: attempt }, 'spool is held by another process; it drains it');
        return false;
      }
      this.lock = attempt;
      await this.load();
      return true;
    });
  }

  /** Appends one command, fsync'd; resolves with its entry once it is durable. */
  append(pattern: MessagePattern, payload: unknown): Promise<SpoolEntry> {
    return this.queue.run(async () => {
      const state = await this.hold();
      const entry: SpoolEntry = { seq: state.lines + 1, pattern, payload, spooledAt: new Date().toISOString() };
      const line = `${JSON.stringify(entry)}\n`;
      try {
        await appendDurably(this.files.entries, line);
      } catch (error) {
        // A partial write would glue the next entry to this one's remains: cut back, or rescan before the next use.
        await truncateDurably(this.files.entries, state.bytes).catch(() => (this.state = undefined));
        throw error;
      }
      if (state.lines === 0) await syncDirectory(this.dir);
      state.lines += 1;
      state.bytes += Buffer.byteLength(line);
      return entry;
    });
  }

  /** The oldest entry not done with, if any. Takes the lock when entries wait on disk. */
  next(): Promise<PendingRecord | undefined> {
    return this.queue.run(async () => {
      if (!this.state && !(await this.mayHaveEntriesOnDisk())) return undefined;
      const state = await this.hold();
      if (state.acked >= state.lines) return undefined;
      const read = await readLineAt(this.files.entries, state.readOffset);
      if (!read) throw new Error(`${this.files.entries} is shorter than its ${state.lines} lines: changed behind us?`);
      const parsed = parseEntry(read.text);
      return { line: state.acked + 1, next: read.next, raw: read.text, ...(parsed ? { entry: parsed } : {}) };
    });
  }

  markAcked(record: PendingRecord): Promise<void> {
    return this.queue.run(() => this.advancePast(record));
  }

  /** Moves a refused (or unreadable) entry to `rejected.jsonl` with the reason, so it cannot block the spool. */
  markRejected(record: PendingRecord, error: { code: string; message: string; issues?: FieldIssue[] }): Promise<void> {
    return this.queue.run(async () => {
      const rejected: RejectedEntry = {
        seq: record.entry?.seq ?? record.line,
        rejectedAt: new Date().toISOString(),
        error,
        ...(record.entry ? { entry: record.entry } : { line: record.raw }),
      };
      await appendDurably(this.files.rejected, `${JSON.stringify(rejected)}\n`);
      await this.advancePast(record);
    });
  }

  /**
   * Moves an entry the ledger answered with an idempotency conflict to `conflicts.jsonl` (fsync'd before the spool
   * moves past it), so it is neither resent forever nor lost.
   */
  markConflict(
    record: PendingRecord & { entry: SpoolEntry },
    error: { code: string; message: string; details?: IdempotencyConflictDetails },
  ): Promise<void> {
    return this.queue.run(async () => {
      const conflict: ConflictEntry = {
        seq: record.entry.seq,
        conflictAt: new Date().toISOString(),
        error,
        entry: record.entry,
      };
      await appendDurably(this.files.conflicts, `${JSON.stringify(conflict)}\n`);
      await syncDirectory(this.dir); // conflicts are rare: make the file's creation durable too
      await this.advancePast(record);
    });
  }

  /**
   * When every entry is done with: truncates the spool (progress first: a crash in between resends, never skips)
   * and lets go of the directory. False when entries arrived meanwhile.
   */
  compactIfDrained(): Promise<boolean> {
    return this.queue.run(async () => {
      if (!this.lock) return true;
      const state = await this.hold();
      if (state.acked < state.lines) return false;
      await writeProgress(this.files.progress, 0);
      await truncateDurably(this.files.entries, 0);
      await this.releaseHeld();
      return true;
    });
  }

  /** Lets go of the directory; unsent entries stay on disk for the next owner. */
  release(): Promise<void> {
    return this.queue.run(() => this.releaseHeld());
  }

  private async advancePast(record: PendingRecord): Promise<void> {
    const state = await this.hold();
    if (record.line !== state.acked + 1) throw new Error(`spool line ${record.line} is not the next one to mark`);
    await writeProgress(this.files.progress, record.line);
    state.acked = record.line;
    state.readOffset = record.next;
  }

  private async hold(): Promise<HeldState> {
    if (!this.lock) {
      await this.ensureDirectory();
      this.lock = await SpoolLock.acquire(this.files.lock, this.dir, this.lockWaitMs);
    }
    return this.state ?? (await this.load());
  }

  /** Reads the directory as the last owner left it, repairing a torn last line (a crash in the middle of an append). */
  private async load(): Promise<HeldState> {
    const progress = await readProgress(this.files.progress);
    if ('unreadable' in progress) {
      this.logger.warn(
        { spoolDir: this.dir, content: progress.unreadable },
        'unreadable spool progress: resending all',
      );
    }
    const scan = await scanSpoolLog(this.files.entries, progress.acked);
    if (scan.tornBytes > 0) {
      // The caller of that append never got "spooled" back, so dropping the fragment loses nothing promised.
      this.logger.warn({ spoolDir: this.dir, bytes: scan.tornBytes }, 'dropping a torn last spool line');
      await truncateDurably(this.files.entries, scan.completeBytes);
    }
    let acked = progress.acked;
    if (acked > scan.lines) {
      this.logger.warn({ spoolDir: this.dir, acked, lines: scan.lines }, 'spool progress beyond its end: reset');
      acked = scan.lines;
    }
    this.state = { lines: scan.lines, acked, bytes: scan.completeBytes, readOffset: scan.offsetAfterSkipped };
    return this.state;
  }

  private async releaseHeld(): Promise<void> {
    this.state = undefined;
    const lock = this.lock;
    this.lock = undefined;
    await lock?.release();
  }

  private async ensureDirectory(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  }
}

function parseEntry(text: string): SpoolEntry | undefined {
  try {
    const parsed = SpoolEntry.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
