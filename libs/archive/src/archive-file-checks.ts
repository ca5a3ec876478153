import type { PublicKeyRing } from '@audit-ledger/integrity';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { checkArchiveFileFast, type CheckedArchiveFile } from './archive-file-fast-check.js';

/** A file proven from its bytes read back from disk, or null: it needs the full check (which names the problem). */
export type FastFileCheck = Promise<CheckedArchiveFile | null>;

/**
 * Archive file checks (checkArchiveFileFast over the bytes read back from disk) started as soon as a file is written,
 * in a worker thread (`archive-file-check.worker.js`), so that the next file is read from PostgreSQL and written on
 * this thread meanwhile, on another core. Without a compiled worker script (or when it fails) a file is checked here,
 * when its result is asked for. The check is the same either way; only where it runs differs.
 */
export class ArchiveFileChecks {
  private worker: Worker | undefined;
  private workerFailed = false;
  private readonly started = new Map<string, FastFileCheck>();
  private readonly pending = new Map<
    number,
    { resolve: (checked: CheckedArchiveFile | null | FastFileCheck) => void; path: string }
  >();
  private nextId = 0;

  constructor(private readonly keys: PublicKeyRing) {}

  /** Starts checking `path` in the worker (a no-op without one: `result` then checks it here). */
  start(path: string): void {
    if (this.started.has(path) || !this.startWorker()) return;
    const id = this.nextId++;
    this.started.set(
      path,
      new Promise((resolve) => {
        this.pending.set(id, { resolve, path });
        this.worker!.postMessage({ id, path, keys: this.keys });
      }),
    );
  }

  /** Forgets the check of `path` (the file is written again) and starts a new one. */
  restart(path: string): void {
    this.started.delete(path);
    this.start(path);
  }

  /** The check of `path`: the one started, else one made now on this thread. */
  result(path: string): FastFileCheck {
    return this.started.get(path) ?? checkHere(path, this.keys);
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = undefined;
  }

  private startWorker(): boolean {
    if (this.worker) return true;
    if (this.workerFailed) return false;
    // Beside this module when compiled; from the TypeScript sources (tests), the compiled one in dist/.
    const script = [
      new URL('./archive-file-check.worker.js', import.meta.url),
      new URL('../dist/archive-file-check.worker.js', import.meta.url),
    ].find((candidate) => existsSync(fileURLToPath(candidate)));
    if (!script) {
      this.workerFailed = true;
      return false;
    }
    const worker = new Worker(script);
    worker.unref();
    worker.on('message', (message: { id: number; checked?: CheckedArchiveFile | null; error?: string }) => {
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id);
      // A file the worker could not read or check is checked here (and its problem reported from here).
      waiting.resolve(message.error === undefined ? received(message.checked) : checkHere(waiting.path, this.keys));
    });
    worker.on('error', () => {
      this.workerFailed = true;
      this.worker = undefined;
      for (const [id, waiting] of this.pending) {
        this.pending.delete(id);
        waiting.resolve(checkHere(waiting.path, this.keys));
      }
    });
    this.worker = worker;
    return true;
  }
}

/** A check as posted by the worker: its leaf hashes arrive as a Uint8Array (structured clone), made a Buffer again. */
function received(checked: CheckedArchiveFile | null | undefined): CheckedArchiveFile | null {
  if (!checked) return null;
  const leaves = checked.leafHashes;
  return leaves
    ? { ...checked, leafHashes: Buffer.from(leaves.buffer, leaves.byteOffset, leaves.byteLength) }
    : checked;
}

async function checkHere(path: string, keys: PublicKeyRing): Promise<CheckedArchiveFile | null> {
  try {
    return checkArchiveFileFast(await readFile(path), keys);
  } catch {
    return null; // unreadable: the full check reads it again and reports why
  }
}
