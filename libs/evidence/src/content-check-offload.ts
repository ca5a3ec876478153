import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { parseCopyRow } from './copy-rows.js';
import { EVENT_FIELDS, RowContentHash } from './row-content-hash.js';

/** Called with each row whose content does not match its stored hash (its own copy, and its field offsets). */
export type ContentFailure = (row: Buffer, fields: Int32Array) => void;

const BATCH_BYTES = 1 << 20;
const MAX_IN_FLIGHT = 8;

/**
 * Checks rows' content against their hashes: on the calling thread for the first `inlineRows` rows, then in a worker
 * thread (`content-check.worker.js`), so that hashing runs beside the COPY parsing, Merkle roots and link checks of
 * the main thread on another core. Rows that arrive in shared memory (copy-rows.ts slabs) are posted as they lie, runs
 * of consecutive rows at a time, without a copy; others are copied into 1 MiB batches that are transferred, not
 * cloned. Without a compiled worker script every row is checked inline. Call `finish()` before reading the
 * results: it waits for the worker's last answers.
 */
export class ContentCheckOffload {
  private readonly inline = new RowContentHash();
  private readonly fields = new Int32Array(EVENT_FIELDS * 2);
  private rows = 0;
  private worker: Worker | undefined;
  private failedWorker: Error | undefined;
  private batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
  private length = 0;
  /** A run of consecutive rows in shared memory not yet posted: [sharedStart, sharedEnd) of `shared`. */
  private shared: SharedArrayBuffer | undefined;
  private sharedStart = 0;
  private sharedEnd = 0;
  private nextId = 0;
  private readonly inFlight = new Map<number, () => void>();
  private drained: (() => void) | undefined;

  constructor(
    private readonly onFailure: ContentFailure,
    private readonly inlineRows = 2_000,
  ) {}

  check(row: Buffer, fields: Int32Array, start: number, end: number): void | Promise<void> {
    this.rows += 1;
    if (this.rows <= this.inlineRows || !this.startWorker()) {
      if (!this.inline.matches(row, fields)) this.fail(Buffer.from(row.subarray(start, end)));
      return;
    }
    if (row.buffer instanceof SharedArrayBuffer) {
      const from = row.byteOffset + start;
      if (row.buffer === this.shared && from === this.sharedEnd && this.sharedEnd - this.sharedStart < BATCH_BYTES) {
        this.sharedEnd = row.byteOffset + end;
        return;
      }
      const sent = this.sendShared();
      this.shared = row.buffer;
      this.sharedStart = from;
      this.sharedEnd = row.byteOffset + end;
      return sent;
    }
    const size = end - start;
    if (this.length + size > this.batch.length) {
      const sent = this.send();
      if (size > this.batch.length) this.batch = Buffer.allocUnsafeSlow(size);
      row.copy(this.batch, 0, start, end);
      this.length = size;
      return sent;
    }
    row.copy(this.batch, this.length, start, end);
    this.length += size;
  }

  async finish(): Promise<void> {
    if (this.worker) {
      await this.sendShared();
      await this.send();
      while (this.inFlight.size > 0) await new Promise<void>((resolve) => (this.drained = resolve));
      await this.worker.terminate();
    }
    if (this.failedWorker) throw this.failedWorker;
  }

  /** Posts the batch; waits when too many are in flight (back-pressure on the COPY stream). */
  private send(): Promise<void> | undefined {
    if (this.length === 0) return undefined;
    const batch = this.batch.subarray(0, this.length);
    this.batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
    this.length = 0;
    return this.post(batch, [batch.buffer as ArrayBuffer]);
  }

  private post(batch: Uint8Array, transfer: ArrayBuffer[]): Promise<void> | undefined {
    const id = this.nextId++;
    const answered = new Promise<void>((resolve) => this.inFlight.set(id, resolve));
    this.worker!.postMessage({ id, batch }, transfer);
    return this.inFlight.size >= MAX_IN_FLIGHT ? answered : undefined;
  }

  /** Posts the run of shared rows (shared, not copied); waits when too many are in flight. */
  private sendShared(): Promise<void> | undefined {
    if (this.shared === undefined || this.sharedEnd === this.sharedStart) return undefined;
    const batch = new Uint8Array(this.shared, this.sharedStart, this.sharedEnd - this.sharedStart);
    this.shared = undefined;
    return this.post(batch, []);
  }

  private startWorker(): boolean {
    if (this.worker) return true;
    if (this.failedWorker) return false;
    // Beside this module when compiled; from the TypeScript sources (tests), the compiled one in dist/.
    const script = [
      new URL('./content-check.worker.js', import.meta.url),
      new URL('../dist/content-check.worker.js', import.meta.url),
    ].find((candidate) => existsSync(fileURLToPath(candidate)));
    if (!script) return false;
    this.worker = new Worker(script);
    this.worker.on('message', ({ id, failed }: { id: number; failed: Uint8Array[] }) => {
      for (const row of failed) this.fail(Buffer.from(row.buffer, row.byteOffset, row.byteLength));
      this.settle(id);
    });
    this.worker.on('error', (error) => {
      this.failedWorker = error;
      for (const id of [...this.inFlight.keys()]) this.settle(id);
    });
    return true;
  }

  private settle(id: number): void {
    this.inFlight.get(id)?.();
    this.inFlight.delete(id);
    if (this.inFlight.size === 0) this.drained?.();
  }

  private fail(row: Buffer): void {
    parseCopyRow(row, 0, EVENT_FIELDS, this.fields);
    this.onFailure(row, this.fields);
  }
}
