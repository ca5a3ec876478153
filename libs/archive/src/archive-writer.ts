import {
  canonicalJson,
  chainHashOfCanonicalPayloads,
  RANGE_EVIDENCE_BUNDLE_FORMAT,
  type BundleCheckpoint,
  type BundlePublicKey,
  type RangeBundleManifest,
} from '@audit-ledger/integrity';
import { createHash, hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import type pg from 'pg';
import { copyRows } from '@audit-ledger/evidence';
import { copyBytes } from './copy-bytes.js';
import { InclusionTexts, type HexLeaves } from './inclusion-texts.js';

/** A checkpoint as stored, with its position in the ledger. */
export interface PositionedCheckpoint extends BundleCheckpoint {
  globalPosition: string;
}

/**
 * The columns read, in order (binary COPY: int8 as 8 bytes, text as its UTF-8 bytes, timestamptz as 8 bytes of
 * microseconds since 2000-01-01 UTC, written here as ISO 8601 to the millisecond: PostgreSQL's to_char for each row
 * was a quarter of its time producing them).
 */
const COLUMNS =
  'global_position, event_id::text, stream_id, stream_revision, type, data::text, metadata::text, prev_hash, hash, ' +
  'recorded_at';
const FIELDS = 10;
const [POSITION, EVENT_ID, STREAM, REVISION, TYPE, DATA, METADATA, PREV, HASH, RECORDED] = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
];

const int64 = (row: Buffer, at: number) => row.readInt32BE(at) * 2 ** 32 + row.readUInt32BE(at + 4);

/** 2000-01-01T00:00:00Z, PostgreSQL's timestamp epoch, in Unix milliseconds. */
const POSTGRES_EPOCH_MS = 946_684_800_000;
/** Unix milliseconds of 0001-01-01 and of 10000-01-01: the years ISO 8601 writes with four digits. */
const [FIRST_MS, PAST_LAST_MS] = [Date.parse('0001-01-01T00:00:00Z'), Date.parse('+010000-01-01T00:00:00Z')];

/** A binary timestamp's microseconds since 2000 floored to milliseconds (doubles hold ±285 years of µs exactly). */
function milliseconds(row: Buffer, at: number): number {
  const high = row.readInt32BE(at);
  if (high > -(1 << 20) && high < 1 << 20) return Math.floor((high * 2 ** 32 + row.readUInt32BE(at + 4)) / 1_000);
  const exact = row.readBigInt64BE(at);
  return Number(exact / 1_000n - (exact % 1_000n < 0n ? 1n : 0n));
}

/** The last day written by writeIsoMillis and its `YYYY-MM-DDT` (a file's events run through few days). */
let lastDay = Number.NaN;
const lastDate = Buffer.alloc(11);

/**
 * Writes a binary timestamptz at `at` as `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC into `out` at `w`, the microseconds cut
 * to milliseconds (what `to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')` writes), with no Date or
 * string per row (the days to a civil date as in Howard Hinnant's `civil_from_days`). Returns the end (w + 24).
 */
export function writeIsoMillis(row: Buffer, at: number, position: number, out: Buffer, w: number): number {
  const ms = milliseconds(row, at) + POSTGRES_EPOCH_MS;
  if (!(ms >= FIRST_MS && ms < PAST_LAST_MS)) {
    throw new ArchiveRefusedError(`the event at position ${position} has a recording time outside years 1 to 9999`);
  }
  const days = Math.floor(ms / 86_400_000);
  if (days !== lastDay) writeDate(days);
  for (let k = 0; k < 11; k++) out[w++] = lastDate[k]!;
  let rest = ms - days * 86_400_000;
  const millis = rest % 1_000;
  rest = (rest - millis) / 1_000;
  const seconds = rest % 60;
  rest = (rest - seconds) / 60;
  const minutes = rest % 60;
  const hours = (rest - minutes) / 60;
  w = digits(out, w, hours, 2);
  out[w++] = 0x3a;
  w = digits(out, w, minutes, 2);
  out[w++] = 0x3a;
  w = digits(out, w, seconds, 2);
  out[w++] = 0x2e;
  w = digits(out, w, millis, 3);
  out[w++] = 0x5a;
  return w;
}

/** Days since 1970-01-01 as `YYYY-MM-DDT` into lastDate. */
function writeDate(days: number): void {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1_460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  let w = digits(lastDate, 0, year, 4);
  lastDate[w++] = 0x2d;
  w = digits(lastDate, w, month, 2);
  lastDate[w++] = 0x2d;
  w = digits(lastDate, w, day, 2);
  lastDate[w] = 0x54;
  lastDay = days;
}

/** `value` (non-negative, below 10^count) as `count` decimal digits, zero-padded. */
function digits(out: Buffer, w: number, value: number, count: number): number {
  for (let k = count - 1; k >= 0; k--) {
    out[w + k] = 0x30 + (value % 10);
    value = Math.floor(value / 10);
  }
  return w + count;
}

/** The rows of one file as COPY sent them: each row's buffer and its fields' [start, end). */
class Rows {
  readonly buffers: Buffer[] = [];
  readonly positions: number[] = [];
  offsets: Int32Array;

  constructor(expected: number) {
    this.offsets = new Int32Array(Math.max(expected, 1) * FIELDS * 2);
  }

  get length(): number {
    return this.buffers.length;
  }

  add(row: Buffer, fields: Int32Array): void {
    const i = this.buffers.length;
    if ((i + 1) * FIELDS * 2 > this.offsets.length) {
      const bigger = new Int32Array(this.offsets.length * 2);
      bigger.set(this.offsets);
      this.offsets = bigger;
    }
    const offsets = this.offsets;
    for (let k = 0, at = i * FIELDS * 2; k < FIELDS * 2; k++) offsets[at + k] = fields[k]!;
    this.buffers.push(row);
    this.positions.push(int64(row, fields[POSITION * 2]!));
  }

  start(i: number, field: number): number {
    return this.offsets[(i * FIELDS + field) * 2]!;
  }

  end(i: number, field: number): number {
    return this.offsets[(i * FIELDS + field) * 2 + 1]!;
  }

  text(i: number, field: number, encoding: 'utf8' | 'latin1' = 'utf8'): string {
    return this.buffers[i]!.toString(encoding, this.start(i, field), this.end(i, field));
  }
}

const lit = (text: string) => Buffer.from(text, 'latin1');
/** What the writer writes around an event's fields (the file check expects exactly these). */
const [L_FIRST_DATA, L_DATA, L_ID, L_POSITION, L_HASH, L_INCLUSION, L_NULL] = [
  lit('{"data":'),
  lit(',{"data":'),
  lit(',"eventId":"'),
  lit('","globalPosition":"'),
  lit('","hash":"'),
  lit('","inclusion":'),
  lit('null'),
];
const [L_METADATA, L_PREV, L_RECORDED, L_STREAM, L_REVISION, L_TYPE, L_END] = [
  lit(',"metadata":'),
  lit(',"prevHash":"'),
  lit('","recordedAt":"'),
  lit('","streamId":'),
  lit(',"streamRevision":'),
  lit(',"type":'),
  lit('}'),
];

/** One file's range as read from the table and proven against its checkpoints, ready to be written. */
export interface ArchiveRange {
  fromPosition: bigint;
  toPosition: bigint;
  checkpoints: readonly PositionedCheckpoint[];
  rows: Rows;
  /** Events from before event-store migration 2: their payloads canonicalised (the stored text is not JCS). */
  legacy: Map<number, [string, string]>;
  trees: Map<string, InclusionTexts>;
}

/**
 * Reads one archive file's range, [fromPosition, toPosition], from the events table in position order with binary
 * COPY (the stored payloads' bytes, no row objects); each checkpoint's leaves are read once and its root recomputed: a
 * range whose stored hashes no longer give their checkpoint's root is refused (an archive never seals what the ledger
 * would fail to verify). The events' own hashes are recomputed by the file check that reads the file back (each event
 * hashed once); with `checkHashes` they are recomputed here too, as each row arrives: the second try at a file whose
 * check failed, which canonicalises the payloads of events stored before event-store migration 2 (whose stored text
 * is not their RFC 8785 text) and refuses, naming it, an event that matches its hash in neither form.
 */
export async function readArchiveRange(options: {
  client: pg.ClientBase;
  fromPosition: bigint;
  toPosition: bigint;
  /** Every checkpoint whose range meets [fromPosition, toPosition], in chain order. */
  checkpoints: readonly PositionedCheckpoint[];
  checkHashes?: boolean;
}): Promise<ArchiveRange> {
  const { client, fromPosition, toPosition, checkpoints } = options;
  const rows = new Rows(Number(toPosition - fromPosition) + 1);
  const payloads = options.checkHashes ? new HashCheck() : undefined;
  const legacy = new Map<number, [string, string]>();
  await copyRows(
    client,
    `SELECT ${COLUMNS} FROM ledger.events WHERE global_position BETWEEN ${fromPosition} AND ${toPosition} ORDER BY global_position`,
    FIELDS,
    (row, fields) => {
      const i = rows.length;
      rows.add(row, fields);
      const canonical = payloads?.check(rows, i);
      if (canonical) legacy.set(i, canonical);
    },
    { socketReads: true },
  );
  const trees = new Map<string, InclusionTexts>();
  for (const checkpoint of checkpoints) {
    trees.set(checkpoint.checkpointHash, await treeOf(client, checkpoint, rows));
  }
  return { fromPosition, toPosition, checkpoints, rows, legacy, trees };
}

/**
 * Writes one archive file: the range evidence bundle (docs/integrity.md §8) of a range read by readArchiveRange,
 * every event with its RFC 6962 inclusion proof against the checkpoint sealing it. It yields to the event loop at
 * every buffer handed to the file, so that the next range can be read from PostgreSQL meanwhile. Returns the file's
 * SHA-256 and the event count.
 */
export async function writeArchiveRange(
  range: ArchiveRange,
  options: { publicKeys: BundlePublicKey[]; path: string; now: Date },
): Promise<{ sha256: string; eventCount: number }> {
  const { fromPosition, toPosition, checkpoints, rows, legacy, trees } = range;
  const file = await open(options.path, 'wx', 0o600);
  const out = new ByteFileWriter(file);
  const checkpointsJcs = canonicalJson(checkpoints);
  const keysJcs = canonicalJson(options.publicKeys);
  // The file is the bundle's own RFC 8785 text (valid JSON, members in JCS order), written as it is built: the
  // content hash covers JCS({checkpoints, events, publicKeys}), the file's bytes up to the end of the events then
  // the public keys.
  out.text(`{"checkpoints":${checkpointsJcs},"events":[`);
  const holders = checkpoints.map((checkpoint) => ({
    from: Number(checkpoint.fromPosition),
    to: Number(checkpoint.toPosition),
    absent: checkpoint.absent.map(([lo, hi]) => [Number(lo), Number(hi)] as const),
    tree: trees.get(checkpoint.checkpointHash)!,
  }));
  let sealed = 0;
  let c = 0;
  for (let i = 0; i < rows.length; i++) {
    const position = rows.positions[i]!;
    while (c < holders.length && holders[c]!.to < position) c++;
    const holder = holders[c];
    const leafIndex = holder ? leafIndexOf(holder, position) : null;
    const row = rows.buffers[i]!;
    const own = legacy.get(i);
    out.literal(i === 0 ? L_FIRST_DATA : L_DATA);
    if (own) out.text(own[0], 'utf8');
    else out.bytes(row, rows.start(i, DATA), rows.end(i, DATA));
    out.literal(L_ID);
    out.bytes(row, rows.start(i, EVENT_ID), rows.end(i, EVENT_ID));
    out.literal(L_POSITION);
    out.integer(position);
    out.literal(L_HASH);
    out.bytes(row, rows.start(i, HASH), rows.end(i, HASH));
    out.literal(L_INCLUSION);
    if (holder && leafIndex !== null) {
      out.inclusion(holder.tree, leafIndex);
      sealed += 1;
    } else {
      out.literal(L_NULL);
    }
    out.literal(L_METADATA);
    if (own) out.text(own[1], 'utf8');
    else out.bytes(row, rows.start(i, METADATA), rows.end(i, METADATA));
    out.literal(L_PREV);
    out.bytes(row, rows.start(i, PREV), rows.end(i, PREV));
    out.literal(L_RECORDED);
    out.recordedAt(row, rows.start(i, RECORDED), position);
    out.literal(L_STREAM);
    out.jsonString(row, rows.start(i, STREAM), rows.end(i, STREAM));
    out.literal(L_REVISION);
    out.integer(int64(row, rows.start(i, REVISION)));
    out.literal(L_TYPE);
    out.jsonString(row, rows.start(i, TYPE), rows.end(i, TYPE));
    out.literal(L_END);
    if (out.full) await out.flush();
  }
  out.text(']');
  const contentHash = await out.contentHash(`,"publicKeys":${keysJcs}}`);
  const manifest: RangeBundleManifest = {
    fromPosition: fromPosition.toString(),
    toPosition: toPosition.toString(),
    createdAt: options.now.toISOString(),
    eventCount: rows.length,
    sealedEvents: sealed,
    unsealedEvents: rows.length - sealed,
    checkpointCount: checkpoints.length,
    keyIds: options.publicKeys.map((key) => key.keyId),
    contentHash,
  };
  out.text(
    `,"format":"${RANGE_EVIDENCE_BUNDLE_FORMAT}","manifest":${canonicalJson(manifest)},"publicKeys":${keysJcs}}`,
  );
  const sha256 = await out.close();
  return { sha256, eventCount: rows.length };
}

/**
 * Recomputes an event's hash over its stored canonical payloads (every event written since event-store migration 2):
 * null when it matches. Else the payloads canonicalised from the stored text (events from before), returned when
 * they match; an event matching neither is refused.
 */
class HashCheck {
  private scratch = Buffer.allocUnsafe(64 * 1024);
  private length = 0;

  check(rows: Rows, i: number): [string, string] | null {
    const row = rows.buffers[i]!;
    this.length = 0;
    this.put(row, rows.start(i, PREV), rows.end(i, PREV));
    this.latin1('{"data":');
    this.put(row, rows.start(i, DATA), rows.end(i, DATA));
    this.latin1(',"eventId":"');
    this.put(row, rows.start(i, EVENT_ID), rows.end(i, EVENT_ID));
    this.latin1('","metadata":');
    this.put(row, rows.start(i, METADATA), rows.end(i, METADATA));
    this.latin1(',"streamId":');
    this.jsonString(row, rows.start(i, STREAM), rows.end(i, STREAM));
    this.latin1(`,"streamRevision":${int64(row, rows.start(i, REVISION))},"type":`);
    this.jsonString(row, rows.start(i, TYPE), rows.end(i, TYPE));
    this.latin1('}');
    const recorded = rows.text(i, HASH, 'latin1');
    if (hash('sha256', this.scratch.subarray(0, this.length), 'hex') === recorded) return null;
    const fields = {
      eventId: rows.text(i, EVENT_ID),
      streamId: rows.text(i, STREAM),
      streamRevision: int64(row, rows.start(i, REVISION)),
      type: rows.text(i, TYPE),
    };
    const prev = rows.text(i, PREV, 'latin1');
    const data = canonicalJson(JSON.parse(rows.text(i, DATA)));
    const metadata = canonicalJson(JSON.parse(rows.text(i, METADATA)));
    if (chainHashOfCanonicalPayloads(prev, fields, data, metadata) === recorded) return [data, metadata];
    throw new ArchiveRefusedError(
      `the event at position ${rows.positions[i]} (stream ${fields.streamId} revision ${fields.streamRevision}) does not match its hash: run ledger verify`,
    );
  }

  private jsonString(src: Buffer, start: number, end: number): void {
    if (!plainString(src, start, end)) {
      this.utf8(JSON.stringify(src.toString('utf8', start, end)));
      return;
    }
    this.latin1('"');
    this.put(src, start, end);
    this.latin1('"');
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.scratch.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.scratch.length * 2, this.length + bytes));
    this.scratch.copy(bigger, 0, 0, this.length);
    this.scratch = bigger;
  }

  private put(src: Buffer, start: number, end: number): void {
    this.reserve(end - start);
    this.length = copyBytes(src, start, end, this.scratch, this.length);
  }

  private latin1(text: string): void {
    this.reserve(text.length);
    const out = this.scratch;
    let w = this.length;
    for (let k = 0; k < text.length; k++) out[w++] = text.charCodeAt(k);
    this.length = w;
  }

  private utf8(text: string): void {
    this.reserve(text.length * 3);
    this.length += this.scratch.write(text, this.length, 'utf8');
  }
}

/**
 * Buffered writes of one file, hashed as written, fsync'd on close. Two buffers: one is filled while the other is
 * being written to the file (no Buffer allocated per flush). The caller flushes (`await flush()`) once `full`.
 */
class ByteFileWriter {
  private buffer = Buffer.allocUnsafe(FLUSH_BYTES * 2);
  /** The buffer being written to the file (reused once that write is done). */
  private spare = Buffer.allocUnsafe(FLUSH_BYTES * 2);
  private length = 0;
  private readonly hash = createHash('sha256');
  private writing: Promise<unknown> = Promise.resolve();

  constructor(private readonly file: FileHandle) {}

  /** True when the buffered bytes are to be handed to the file (`flush`). */
  get full(): boolean {
    return this.length >= FLUSH_BYTES;
  }

  /** Appends text (latin1: the caller knows it holds no code point above 0xff). */
  text(text: string, encoding: 'latin1' | 'utf8' = 'latin1'): void {
    this.reserve(encoding === 'utf8' ? text.length * 3 : text.length);
    if (encoding === 'latin1' && text.length <= 64) {
      const out = this.buffer;
      let w = this.length;
      for (let k = 0; k < text.length; k++) out[w++] = text.charCodeAt(k);
      this.length = w;
    } else {
      this.length += this.buffer.write(text, this.length, encoding);
    }
  }

  bytes(src: Buffer, start: number, end: number): void {
    this.reserve(end - start);
    // Long runs (payloads) natively, without the subarray TypedArray#set needs.
    if (end - start > 96) this.length += src.copy(this.buffer, this.length, start, end);
    else this.length = copyBytes(src, start, end, this.buffer, this.length);
  }

  /** Appends pre-encoded bytes (short: byte by byte). */
  literal(bytes: Buffer): void {
    this.reserve(bytes.length);
    const out = this.buffer;
    let w = this.length;
    for (let k = 0; k < bytes.length; k++) out[w++] = bytes[k]!;
    this.length = w;
  }

  /** An integer in decimal (as String(value) writes it). */
  integer(value: number): void {
    if (!(value >= 0 && value <= Number.MAX_SAFE_INTEGER)) {
      this.text(String(value));
      return;
    }
    this.reserve(16);
    let count = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) count += 1;
    this.length = digits(this.buffer, this.length, value, count);
  }

  /** A recording time (a binary timestamptz at `at` of `row`) as ISO 8601 text. */
  recordedAt(row: Buffer, at: number, position: number): void {
    this.reserve(24);
    this.length = writeIsoMillis(row, at, position, this.buffer, this.length);
  }

  /** A checkpoint's inclusion proof of one leaf. */
  inclusion(tree: InclusionTexts, index: number): void {
    this.reserve(tree.maxLength);
    this.length = tree.write(index, this.buffer, this.length);
  }

  /** JSON.stringify of the UTF-8 string in src[start, end): the bytes quoted when nothing in them needs escaping. */
  jsonString(src: Buffer, start: number, end: number): void {
    if (plainString(src, start, end)) {
      this.reserve(end - start + 2);
      this.buffer[this.length++] = 0x22;
      this.length = copyBytes(src, start, end, this.buffer, this.length);
      this.buffer[this.length++] = 0x22;
    } else {
      this.text(JSON.stringify(src.toString('utf8', start, end)), 'utf8');
    }
  }

  /** SHA-256 of everything written so far followed by `suffix`, hex (the bundle's content hash). */
  async contentHash(suffix: string): Promise<string> {
    await this.flush();
    return this.hash.copy().update(suffix, 'utf8').digest('hex');
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(bigger, 0, 0, this.length);
    this.buffer = bigger;
  }

  /**
   * Hashes the buffered bytes and hands them to the file once the previous write is done (one write at a time, in
   * order), then fills the other buffer. Awaiting it lets other work run (the next range's rows arriving).
   */
  async flush(): Promise<void> {
    await this.writing;
    if (this.length === 0) return;
    const bytes = this.buffer.subarray(0, this.length);
    this.hash.update(bytes);
    this.writing = writeAll(this.file, bytes);
    this.writing.catch(() => undefined); // awaited (and thrown) by the next flush() or close()
    [this.buffer, this.spare] = [this.spare, this.buffer];
    this.length = 0;
  }

  /** Returns the hex SHA-256 of everything written. */
  async close(): Promise<string> {
    try {
      await this.flush();
      await this.writing;
      await this.file.sync();
    } finally {
      await this.file.close();
    }
    return this.hash.digest('hex');
  }
}

/** Writes all of `bytes` at the file's current position (FileHandle#write may write less than asked). */
async function writeAll(file: FileHandle, bytes: Buffer): Promise<void> {
  let at = 0;
  while (at < bytes.length) {
    const { bytesWritten } = await file.write(bytes, at, bytes.length - at);
    at += bytesWritten;
  }
}

const FLUSH_BYTES = 1 << 20;

/** True when JSON.stringify would write the (valid UTF-8) string's bytes as they are: no `"`, `\\` or control. */
function plainString(src: Buffer, start: number, end: number): boolean {
  for (let k = start; k < end; k++) {
    const b = src[k]!;
    if (b < 0x20 || b === 0x22 || b === 0x5c) return false;
  }
  return true;
}

/** The leaf index of `position` in a checkpoint's range (its offset minus the absent positions before it). */
function leafIndexOf(
  checkpoint: { from: number; to: number; absent: readonly (readonly [number, number])[] },
  position: number,
): number | null {
  if (position < checkpoint.from || position > checkpoint.to) return null;
  let index = position - checkpoint.from;
  for (const [lo, hi] of checkpoint.absent) {
    if (position >= lo && position <= hi) return null;
    if (hi < position) index -= hi - lo + 1;
  }
  return index;
}

/** The checkpoint's tree over its range's event hashes (from the rows read when they cover it, else the table). */
async function treeOf(client: pg.ClientBase, checkpoint: PositionedCheckpoint, rows: Rows): Promise<InclusionTexts> {
  const from = Number(checkpoint.fromPosition);
  const to = Number(checkpoint.toPosition);
  const first = rows.length > 0 ? rows.positions[0]! : undefined;
  const last = rows.length > 0 ? rows.positions[rows.length - 1]! : undefined;
  let leaves: HexLeaves;
  if (first !== undefined && last !== undefined && from >= first && to <= last) {
    // The rows' own hash fields (each event's hash is recomputed from the file by its check).
    const lo = lowerBound(rows.positions, from);
    leaves = {
      count: lowerBound(rows.positions, to + 1) - lo,
      source: (i) => rows.buffers[lo + i]!,
      offset: (i) => rows.start(lo + i, HASH),
    };
  } else {
    const { rows: stored } = await client.query<{ hash: string }>(
      'SELECT hash FROM ledger.events WHERE global_position BETWEEN $1 AND $2 ORDER BY global_position',
      [checkpoint.fromPosition, checkpoint.toPosition],
    );
    if (stored.some((row) => !/^[0-9a-f]{64}$/.test(row.hash))) {
      throw new ArchiveRefusedError(`an event of ${from}..${to} has a malformed hash: run ledger verify`);
    }
    const hex = Buffer.from(stored.map((row) => row.hash).join(''), 'latin1');
    leaves = { count: stored.length, source: () => hex, offset: (i) => i * 64 };
  }
  if (leaves.count !== checkpoint.count || leaves.count === 0) {
    throw new ArchiveRefusedError(
      `checkpoint ${checkpoint.checkpointHash} (range ${from}..${to}) seals ${checkpoint.count} events, the table holds ${leaves.count}: run ledger verify`,
    );
  }
  const tree = new InclusionTexts(leaves, checkpoint.checkpointHash);
  if (tree.rootHex !== checkpoint.merkleRoot) {
    throw new ArchiveRefusedError(
      `the events of ${from}..${to} do not hash to checkpoint ${checkpoint.checkpointHash}'s Merkle root: run ledger verify`,
    );
  }
  return tree;
}

/** Index of the first position at or after `position` (positions ascending). */
function lowerBound(positions: readonly number[], position: number): number {
  let lo = 0;
  let hi = positions.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (positions[mid]! < position) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class ArchiveRefusedError extends Error {
  readonly code = 'ARCHIVE.REFUSED';
}
