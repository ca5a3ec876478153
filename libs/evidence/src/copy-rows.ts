import type pg from 'pg';

/**
 * `COPY (query) TO STDOUT (FORMAT binary)` as a stream of rows: one statement, one pass, PostgreSQL producing while we
 * check, and no per-row strings or type parsing — each row is handed over as its bytes plus each field's
 * [start, end) (start −1: NULL). Text fields are their UTF-8 bytes, bigint 8 bytes big-endian, jsonb a version byte
 * (1) then its text. The socket is paused while chunks wait (constant memory), so the handler may await.
 */
/** `start` and `end`: where the row (its field count, then its fields) lies in `row`. */
export type CopyRowHandler = (row: Buffer, fields: Int32Array, start: number, end: number) => void | Promise<void>;

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Bytes waiting before the socket is paused, and below which it resumes. */
const HIGH_WATER = 2 << 20;
const LOW_WATER = HIGH_WATER / 4;
/** Rows are copied back to back into slabs of this size (larger ones get their own buffer). */
const SLAB_BYTES = 1024 * 1024;

export interface CopyRowsOptions {
  /**
   * Rows handed out as views into the socket's own reads, parsed straight from them (no pg message and no copy per
   * row; see CopyOut) instead of copies in shared memory (which a worker thread can read: content-check-offload.ts).
   */
  socketReads?: boolean;
}

export async function copyRows(
  client: pg.ClientBase,
  query: string,
  fieldCount: number,
  onRow: CopyRowHandler,
  options: CopyRowsOptions = {},
): Promise<number> {
  const copy = new CopyOut(`COPY (${query}) TO STDOUT (FORMAT binary)`, options.socketReads === true);
  void client.query(copy as unknown as pg.Submittable);
  const fields = new Int32Array(fieldCount * 2);
  let headerSeen = false;
  let ended = false;
  let rows = 0;
  let pending: Buffer | null = null;
  try {
    for (;;) {
      const ready = copy.poll();
      const chunk = ready !== undefined ? ready : await copy.next();
      if (chunk === null) break;
      const data: Buffer = pending ? Buffer.concat([pending, chunk]) : chunk;
      pending = null;
      let at = 0;
      if (!headerSeen) {
        if (data.length < 19) {
          pending = data;
          continue;
        }
        if (!data.subarray(0, 11).equals(SIGNATURE)) throw new Error('COPY did not answer in binary format');
        at = 19 + data.readInt32BE(15); // flags, then the header extension's length
        headerSeen = true;
      }
      while (at + 2 <= data.length) {
        const count = data.readInt16BE(at);
        if (count === -1) {
          ended = true;
          at += 2;
          break;
        }
        if (count !== fieldCount) throw new Error(`COPY sent ${count} fields, expected ${fieldCount}`);
        let p = at + 2;
        let complete = true;
        for (let f = 0; f < fieldCount; f++) {
          if (p + 4 > data.length) {
            complete = false;
            break;
          }
          const length = data.readInt32BE(p);
          p += 4;
          if (length === -1) {
            fields[f * 2] = -1;
            fields[f * 2 + 1] = -1;
            continue;
          }
          fields[f * 2] = p;
          fields[f * 2 + 1] = p + length;
          p += length;
        }
        if (!complete || p > data.length) break;
        const handled = onRow(data, fields, at, p);
        if (handled) await handled;
        rows += 1;
        at = p;
      }
      if (at < data.length && !ended) pending = data.subarray(at);
    }
  } catch (error) {
    copy.abandon(); // let the rest of the COPY drain so that the connection can be used (and released) again
    throw error;
  }
  if (!ended || pending) throw new Error('COPY ended before its trailer');
  return rows;
}

/**
 * Field offsets of one complete row at `at` (as the binary COPY writes it: a field count, then per field its length and
 * bytes) into `fields`; returns where the row ends. For rows already known to be whole (a batch of copied rows).
 */
export function parseCopyRow(data: Buffer, at: number, fieldCount: number, fields: Int32Array): number {
  let p = at + 2;
  for (let f = 0; f < fieldCount; f++) {
    const length = data.readInt32BE(p);
    p += 4;
    fields[f * 2] = length === -1 ? -1 : p;
    fields[f * 2 + 1] = length === -1 ? -1 : p + length;
    if (length > 0) p += length;
  }
  return p;
}

/** Shared memory, so that a worker thread can read the rows without a copy (content-check-offload.ts). */
function sharedSlab(): Buffer {
  return Buffer.from(new SharedArrayBuffer(SLAB_BYTES));
}

interface PgStream {
  pause(): void;
  resume(): void;
  on(event: 'data', listener: (chunk: Buffer) => void): void;
  removeListener(event: 'data', listener: (chunk: Buffer) => void): void;
  listeners(event: 'data'): ((chunk: Buffer) => void)[];
}

const COPY_DATA = 0x64;
const COPY_OUT_RESPONSE = 0x48;

/**
 * A pg Submittable for COPY TO STDOUT (the simple query protocol; pg hands CopyData messages to it, one per row).
 * Each message is a view into pg's reused read buffer, so it is copied: back to back into a slab, and handed out as
 * one chunk of all the rows received since the last one was taken (one copy, no Buffer per row; a chunk holds whole
 * rows). Slabs are never written twice, so a chunk stays valid while anything holds it.
 *
 * With `socketReads`, the socket's reads are taken from pg's parser while the rows arrive: each read (a fresh Buffer
 * of its own) has its CopyData messages' payloads moved together inside it (one copyWithin a row) and is handed out
 * as one chunk; a message cut between two reads is joined into a buffer of its own. At the first message that is not
 * CopyData (CopyDone, or an error or notice), the socket and the bytes from that message on go back to pg, which
 * ends the query as usual (and hands any later CopyData to handleCopyData).
 */
class CopyOut {
  private readonly chunks: Buffer[] = [];
  private queued = 0;
  private slab = sharedSlab();
  /** [tailStart, slabUsed): rows in the slab not yet handed out as a chunk. */
  private tailStart = 0;
  private slabUsed = 0;
  private done = false;
  private error: Error | undefined;
  private wake: (() => void) | undefined;
  private connection: { query(text: string): void; stream: PgStream } | undefined;
  private paused = false;
  private abandoned = false;
  /** pg's own listeners of the socket's reads while they are taken (socketReads). */
  private pgListeners: ((chunk: Buffer) => void)[] | undefined;
  /** The start of a message the last read cut. */
  private carry: Buffer | undefined;

  constructor(
    private readonly text: string,
    private readonly socketReads = false,
  ) {}

  submit(connection: NonNullable<CopyOut['connection']>): void {
    this.connection = connection;
    if (this.socketReads) {
      // Nothing of this query's answer has arrived yet: it is sent below.
      const stream = connection.stream;
      this.pgListeners = stream.listeners('data');
      for (const listener of this.pgListeners) stream.removeListener('data', listener);
      stream.on('data', this.onRead);
    }
    connection.query(this.text);
  }

  private readonly onRead = (read: Buffer): void => {
    let data = read;
    if (this.carry) {
      const carry = this.carry;
      this.carry = undefined;
      if (carry.length < 5) {
        this.onRead(Buffer.concat([carry, read])); // (its length was cut)
        return;
      }
      const joined = 1 + carry.readUInt32BE(1);
      if (joined > carry.length + read.length) {
        this.carry = Buffer.concat([carry, read]); // a large message: more of it to come
        return;
      }
      const message = Buffer.concat([carry, read.subarray(0, joined - carry.length)]);
      if (message[0] !== COPY_DATA && message[0] !== COPY_OUT_RESPONSE) {
        this.giveStreamBack(Buffer.concat([carry, read]));
        return;
      }
      if (message[0] === COPY_DATA) this.queue(message.subarray(5));
      data = read.subarray(joined - carry.length);
    }
    let at = 0;
    let end = 0;
    while (at + 5 <= data.length) {
      const code = data[at]!;
      if (code !== COPY_DATA && code !== COPY_OUT_RESPONSE) {
        if (end > 0) this.queue(data.subarray(0, end));
        this.giveStreamBack(data.subarray(at));
        return;
      }
      const length = 1 + data.readUInt32BE(at + 1);
      if (at + length > data.length) break;
      if (code === COPY_DATA) {
        data.copyWithin(end, at + 5, at + length);
        end += length - 5;
      }
      at += length;
    }
    if (end > 0) this.queue(data.subarray(0, end));
    if (at < data.length) this.carry = data.subarray(at); // its bytes are behind every one moved
  };

  /** Hands the socket back to pg, with the bytes read from the first message it is to parse on. */
  private giveStreamBack(rest: Buffer | undefined): void {
    const listeners = this.pgListeners;
    if (!listeners) return;
    this.pgListeners = undefined;
    const stream = this.connection!.stream;
    stream.removeListener('data', this.onRead);
    for (const listener of listeners) stream.on('data', listener);
    if (rest && rest.length > 0) for (const listener of listeners) listener.call(stream, rest);
  }

  /** Whole rows' bytes, ready to be handed out. */
  private queue(bytes: Buffer): void {
    if (this.abandoned) return;
    this.closeTail();
    this.chunks.push(bytes);
    this.received(bytes.length);
  }

  private received(length: number): void {
    this.queued += length;
    if (this.queued >= HIGH_WATER && !this.paused) {
      this.paused = true;
      this.connection!.stream.pause();
    }
    this.notify();
  }

  handleCopyData(message: { chunk: Buffer }): void {
    if (this.abandoned) return;
    const { chunk } = message;
    const length = chunk.length;
    if (this.slabUsed + length > SLAB_BYTES) {
      this.closeTail();
      if (length > SLAB_BYTES / 4) {
        this.chunks.push(Buffer.from(chunk)); // a large row: its own buffer
      } else {
        this.slab = sharedSlab();
        this.tailStart = this.slabUsed = 0;
      }
    }
    if (this.slabUsed + length <= SLAB_BYTES) {
      this.slab.set(chunk, this.slabUsed); // TypedArray#set: no JS wrapper per row, unlike Buffer#copy
      this.slabUsed += length;
    }
    this.received(length);
  }

  handleCommandComplete(): void {}

  handleReadyForQuery(): void {
    this.done = true;
    this.notify();
  }

  handleError(error: Error): void {
    this.giveStreamBack(undefined); // (the connection failed while its reads were taken)
    this.error = error;
    this.done = true;
    this.notify();
  }

  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}

  /** A chunk already received (undefined: none yet; null: the end). */
  poll(): Buffer | null | undefined {
    if (this.chunks.length === 0) this.closeTail();
    if (this.chunks.length === 0) return this.done && !this.error ? null : undefined;
    return this.next_();
  }

  /** Queues the slab's rows not yet handed out. */
  private closeTail(): void {
    if (this.tailStart === this.slabUsed) return;
    this.chunks.push(this.slab.subarray(this.tailStart, this.slabUsed));
    this.tailStart = this.slabUsed;
  }

  abandon(): void {
    this.abandoned = true;
    this.chunks.length = 0;
    this.tailStart = this.slabUsed;
    if (this.paused) {
      this.paused = false;
      this.connection!.stream.resume();
    }
  }

  private next_(): Buffer {
    const chunk = this.chunks.shift()!;
    this.queued -= chunk.length;
    if (this.paused && this.queued < LOW_WATER) {
      this.paused = false;
      this.connection!.stream.resume();
    }
    return chunk;
  }

  /** The next chunk, or null at the end; rejects with the server's error. */
  async next(): Promise<Buffer | null> {
    for (;;) {
      if (this.chunks.length === 0) this.closeTail();
      if (this.chunks.length > 0) return this.next_();
      if (this.error) throw this.error;
      if (this.done) return null;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
