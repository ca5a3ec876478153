import {
  canonicalJson,
  checkCheckpointSignature,
  GENESIS_HASH,
  merkleLeafHash,
  parseSealedCheckpoint,
  RANGE_EVIDENCE_BUNDLE_FORMAT,
  verifyMerkleInclusion,
  type BundleCheckpoint,
  type BundleInclusion,
  type PublicKeyRing,
  type SealedCheckpoint,
} from '@audit-ledger/integrity';
import { createHash, hash, type Hash } from 'node:crypto';
import { InclusionTexts } from './inclusion-texts.js';

/** What the chain check across files needs of one archived event (files checked by the full verify-bundle check). */
interface ArchivedEventLink {
  globalPosition: string;
  streamId: string;
  streamRevision: number;
  prevHash: string;
  hash: string;
}

/**
 * A stream's events in a file proven from its bytes, whose links inside the file were checked: what the chain check
 * across files needs (the first one's link to the archives before, the last one as the stream's head after).
 */
interface ArchivedStreamSpan {
  streamId: string;
  firstPosition: number;
  firstRevision: number;
  firstPrevHash: string;
  lastPosition: number;
  lastRevision: number;
  lastHash: string;
}

/** An archive file proven valid: its range, checkpoints and events' links. */
export interface CheckedArchiveFile {
  fromPosition: string;
  toPosition: string;
  checkpoints: BundleCheckpoint[];
  eventCount: number;
  /** hex SHA-256 of the file's bytes. */
  sha256: string;
  /** Proven from its bytes: each stream's first and last event in the file, in the order of their first events. */
  streams?: ArchivedStreamSpan[];
  /** Proven from its bytes: each event's Merkle leaf hash, 32 bytes each in position order (the archive-wide tree's). */
  leafHashes?: Buffer;
  /** Checked by the full check: every event's link. */
  events?: ArchivedEventLink[];
}

/**
 * Proves an archive file valid from its bytes, without parsing or re-canonicalising its events, when it is exactly
 * what the archive writer writes: the bundle's RFC 8785 text with its members in the writer's order and every event
 * sealed. Each event's hash is recomputed over the file's own byte slices (the canonical payloads as stored), each
 * checkpoint's tree is rebuilt once from the file's event hashes and must give its signed root, and each inclusion
 * proof must be, byte for byte, the audit path of that tree (the only valid one). A slice that hashes to a signed
 * leaf is the ledger's canonical text (SHA-256 being collision resistant), so the file is its own canonical JSON and
 * the content hash is the SHA-256 of slices of it.
 *
 * Returns null whenever anything differs from that (a problem, or a form it does not handle): the caller then runs
 * the full `verify-bundle` check, which names the problem and the event. It never accepts a file that check rejects.
 */
export function checkArchiveFileFast(bytes: Buffer, keys: PublicKeyRing): CheckedArchiveFile | null {
  try {
    return new FastCheck(bytes, keys).run();
  } catch {
    return null; // NOT_FAST, or JSON.parse or a hex decoding refusing what it was given
  }
}

const NOT_FAST = new Error('not provable on the fast path');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

const lit = (text: string) => Buffer.from(text, 'latin1');
const OPEN = lit('{"checkpoints":');
const EVENTS = lit(',"events":[');
const FORMAT = lit(`],"format":"${RANGE_EVIDENCE_BUNDLE_FORMAT}","manifest":`);
const KEYS = lit(',"publicKeys":');
const E_DATA = lit('{"data":');
const E_ID = lit(',"eventId":');
const E_POSITION = lit(',"globalPosition":"');
const E_HASH = lit('","hash":"');
const E_INCLUSION = lit('","inclusion":');
const E_METADATA = lit(',"metadata":');
const E_PREV = lit(',"prevHash":"');
const E_RECORDED = lit('","recordedAt":');
const E_STREAM = lit(',"streamId":');
const E_REVISION = lit(',"streamRevision":');
const E_TYPE = lit(',"type":');

/** The events scanned, one entry each in typed arrays (no object or hash string per event): offsets into the file. */
class ScannedEvents {
  length = 0;
  positions = new Float64Array(1024);
  revisions = new Float64Array(1024);
  /** Where the hash's and the prevHash's hex are. */
  hashStarts = new Int32Array(1024);
  prevStarts = new Int32Array(1024);
  inclusionStarts = new Int32Array(1024);
  inclusionEnds = new Int32Array(1024);
  readonly streamIds: string[] = [];

  push(
    position: number,
    revision: number,
    hashStart: number,
    prevStart: number,
    inclusionStart: number,
    inclusionEnd: number,
    streamId: string,
  ): void {
    const i = this.length;
    if (i === this.positions.length) this.grow();
    this.positions[i] = position;
    this.revisions[i] = revision;
    this.hashStarts[i] = hashStart;
    this.prevStarts[i] = prevStart;
    this.inclusionStarts[i] = inclusionStart;
    this.inclusionEnds[i] = inclusionEnd;
    this.streamIds.push(streamId);
    this.length = i + 1;
  }

  private grow(): void {
    const bigger = <T extends Float64Array | Int32Array>(array: T): T => {
      const next = new (array.constructor as new (n: number) => T)(array.length * 2);
      next.set(array);
      return next;
    };
    this.positions = bigger(this.positions);
    this.revisions = bigger(this.revisions);
    this.hashStarts = bigger(this.hashStarts);
    this.prevStarts = bigger(this.prevStarts);
    this.inclusionStarts = bigger(this.inclusionStarts);
    this.inclusionEnds = bigger(this.inclusionEnds);
  }
}

/** A stream's span while the file is checked: its last hash where it is in the file. */
interface OpenSpan {
  streamId: string;
  firstPosition: number;
  firstRevision: number;
  firstPrevHash: string;
  lastPosition: number;
  lastRevision: number;
  lastHashStart: number;
}

interface Checkpoint {
  sealed: SealedCheckpoint;
  from: number;
  to: number;
  absent: [number, number][];
}

class FastCheck {
  private at = 0;
  private scratch = Buffer.allocUnsafe(64 * 1024);

  constructor(
    private readonly b: Buffer,
    private readonly keys: PublicKeyRing,
  ) {}

  run(): CheckedArchiveFile {
    const b = this.b;
    this.expect(OPEN);
    const checkpointsText = this.sliceValue();
    this.expect(EVENTS);
    const events = new ScannedEvents();
    if (b[this.at] !== 0x5d) {
      for (;;) {
        this.event(events);
        if (b[this.at] !== 0x2c) break;
        this.at += 1;
      }
    }
    const eventsEnd = this.at + 1; // after `]`
    this.expect(FORMAT);
    const manifestText = this.sliceValue();
    this.expect(KEYS);
    const keysStart = this.at;
    const keysText = this.sliceValue();
    const keysEnd = this.at;
    if (b[this.at] !== 0x7d || this.at + 1 !== b.length) throw NOT_FAST;

    const rawCheckpoints = JSON.parse(checkpointsText) as unknown;
    const publicKeys = JSON.parse(keysText) as unknown;
    const manifest = JSON.parse(manifestText) as Record<string, unknown> | null;
    if (!Array.isArray(rawCheckpoints) || !Array.isArray(publicKeys) || typeof manifest !== 'object' || !manifest) {
      throw NOT_FAST;
    }
    if (canonicalJson(rawCheckpoints) !== checkpointsText || canonicalJson(publicKeys) !== keysText) throw NOT_FAST;
    const from = positionNumber(manifest.fromPosition);
    const to = positionNumber(manifest.toPosition);
    if (from > to || manifest.eventCount !== events.length || manifest.checkpointCount !== rawCheckpoints.length) {
      throw NOT_FAST;
    }
    // The content hash and the file's SHA-256 share everything up to the end of the events.
    const fileHash = createHash('sha256').update(b.subarray(0, eventsEnd));
    const content: Hash = fileHash.copy();
    content.update(KEYS).update(b.subarray(keysStart, keysEnd)).update('}');
    if (content.digest('hex') !== manifest.contentHash) throw NOT_FAST;
    fileHash.update(b.subarray(eventsEnd));

    const checkpoints = this.checkpoints(rawCheckpoints, from, to);
    const { streams, leafHashes } = this.checkEvents(events, checkpoints, from, to);
    return {
      fromPosition: String(from),
      toPosition: String(to),
      checkpoints: rawCheckpoints as BundleCheckpoint[],
      eventCount: events.length,
      sha256: fileHash.digest('hex'),
      streams,
      leafHashes,
    };
  }

  /** Signed, chained, contiguous, covering [from, to]. */
  private checkpoints(raw: unknown[], from: number, to: number): Checkpoint[] {
    const list: Checkpoint[] = [];
    let previous: Checkpoint | undefined;
    for (const value of raw) {
      const sealed = parseSealedCheckpoint(value);
      if (!sealed || checkCheckpointSignature(sealed, this.keys) !== null) throw NOT_FAST;
      const checkpoint: Checkpoint = {
        sealed,
        from: positionNumber(sealed.fromPosition),
        to: positionNumber(sealed.toPosition),
        absent: sealed.absent.map(([a, z]) => [positionNumber(a), positionNumber(z)]),
      };
      if (checkpoint.from > checkpoint.to) throw NOT_FAST;
      let lastAbsent = checkpoint.from - 1;
      for (const [a, z] of checkpoint.absent) {
        if (a <= lastAbsent || z < a || z > checkpoint.to) throw NOT_FAST;
        lastAbsent = z;
      }
      if (leavesBefore(checkpoint, checkpoint.to + 1) !== sealed.count) throw NOT_FAST;
      if (
        previous &&
        (previous.to + 1 !== checkpoint.from || sealed.previousCheckpointHash !== previous.sealed.checkpointHash)
      ) {
        throw NOT_FAST;
      }
      list.push(checkpoint);
      previous = checkpoint;
    }
    if (list.length === 0 || list[0]!.from > from || list.at(-1)!.to < to) throw NOT_FAST;
    return list;
  }

  /**
   * Positions in order inside the range, every leaf of every checkpoint's part of the range there, links inside the
   * file, proofs. Returns each stream's first and last event and the events' leaf hashes.
   */
  private checkEvents(
    events: ScannedEvents,
    checkpoints: Checkpoint[],
    from: number,
    to: number,
  ): { streams: ArchivedStreamSpan[]; leafHashes: Buffer } {
    const b = this.b;
    // Its own memory (not a slice of Node's pool), so that a worker thread can transfer it.
    const leafHashes = Buffer.from(new ArrayBuffer(events.length * 32));
    const streams = new Map<string, OpenSpan>();
    let previousPosition = from - 1;
    let e = 0;
    for (const checkpoint of checkpoints) {
      const lo = Math.max(from, checkpoint.from);
      const hi = Math.min(to, checkpoint.to);
      const first = lo > hi ? 0 : leavesBefore(checkpoint, lo);
      const count = lo > hi ? 0 : leavesBefore(checkpoint, hi + 1) - first;
      if (e + count > events.length) throw NOT_FAST;
      for (let i = e; i < e + count; i++) {
        const p = events.positions[i]!;
        const revision = events.revisions[i]!;
        if (p <= previousPosition || p < lo || p > hi || leafIndex(checkpoint, p) !== first + i - e) throw NOT_FAST;
        previousPosition = p;
        const streamId = events.streamIds[i]!;
        const span = streams.get(streamId);
        if (span) {
          if (revision !== span.lastRevision + 1 || !sameHex(b, events.prevStarts[i]!, span.lastHashStart)) {
            throw NOT_FAST;
          }
          span.lastPosition = p;
          span.lastRevision = revision;
          span.lastHashStart = events.hashStarts[i]!;
        } else {
          const prevHash = b.toString('latin1', events.prevStarts[i]!, events.prevStarts[i]! + 64);
          if (revision === 0 && prevHash !== GENESIS_HASH) throw NOT_FAST;
          streams.set(streamId, {
            streamId,
            firstPosition: p,
            firstRevision: revision,
            firstPrevHash: prevHash,
            lastPosition: p,
            lastRevision: revision,
            lastHashStart: events.hashStarts[i]!,
          });
        }
      }
      if (count === checkpoint.sealed.count) {
        this.wholeTree(checkpoint, events, e, count).leafHashes.copy(leafHashes, e * 32);
      } else {
        for (let k = 0; k < count; k++) {
          const eventHash = Buffer.from(this.hashText(events, e + k), 'hex');
          this.oneProof(checkpoint, events, e + k, eventHash, first + k);
          merkleLeafHash(eventHash).copy(leafHashes, (e + k) * 32);
        }
      }
      e += count;
    }
    if (e !== events.length) throw NOT_FAST;
    const spans = [...streams.values()].map(({ lastHashStart, ...span }) => ({
      ...span,
      lastHash: b.toString('latin1', lastHashStart, lastHashStart + 64),
    }));
    return { streams: spans, leafHashes };
  }

  private hashText(events: ScannedEvents, i: number): string {
    return this.b.toString('latin1', events.hashStarts[i]!, events.hashStarts[i]! + 64);
  }

  /** The checkpoint's tree from the file's hashes: its signed root, and each proof its audit path exactly. */
  private wholeTree(checkpoint: Checkpoint, events: ScannedEvents, e: number, count: number): InclusionTexts {
    const tree = new InclusionTexts(
      { count, source: () => this.b, offset: (i) => events.hashStarts[e + i]! },
      checkpoint.sealed.checkpointHash,
    );
    if (tree.rootHex !== checkpoint.sealed.merkleRoot) throw NOT_FAST;
    for (let index = 0; index < count; index++) {
      if (!tree.matches(index, this.b, events.inclusionStarts[e + index]!, events.inclusionEnds[e + index]!)) {
        throw NOT_FAST;
      }
    }
    return tree;
  }

  /** A checkpoint only partly in this file: each proof checked against its signed root. */
  private oneProof(checkpoint: Checkpoint, events: ScannedEvents, i: number, eventHash: Buffer, index: number): void {
    const text = this.b.toString('utf8', events.inclusionStarts[i]!, events.inclusionEnds[i]!);
    const inclusion = JSON.parse(text) as BundleInclusion | null;
    if (
      typeof inclusion !== 'object' ||
      inclusion === null ||
      canonicalJson(inclusion) !== text ||
      inclusion.checkpointHash !== checkpoint.sealed.checkpointHash ||
      inclusion.leafIndex !== index ||
      inclusion.treeSize !== checkpoint.sealed.count ||
      !Array.isArray(inclusion.auditPath) ||
      !inclusion.auditPath.every((node) => typeof node === 'string' && /^[0-9a-f]{64}$/.test(node)) ||
      !verifyMerkleInclusion(
        eventHash,
        index,
        checkpoint.sealed.count,
        inclusion.auditPath.map((node) => Buffer.from(node, 'hex')),
        Buffer.from(checkpoint.sealed.merkleRoot, 'hex'),
      )
    ) {
      throw NOT_FAST;
    }
  }

  /**
   * One event, in the writer's member order; its hash recomputed over the file's slices: the hashed text is the
   * prevHash followed by three runs of the file as they stand (`{"data":…,"eventId":…`, `,"metadata":…` and
   * `,"streamId":…,"streamRevision":…,"type":…}`), the members the hash leaves out lying between them.
   */
  private event(events: ScannedEvents): void {
    const b = this.b;
    const eventStart = this.at;
    this.expect(E_DATA);
    this.skipValue();
    this.expect(E_ID);
    this.skipString();
    const idEnd = this.at;
    this.expect(E_POSITION);
    const positionStart = this.at;
    let position = 0;
    while (b[this.at]! >= 0x30 && b[this.at]! <= 0x39) position = position * 10 + b[this.at++]! - 0x30;
    const positionDigits = this.at - positionStart;
    if (positionDigits === 0 || positionDigits > 15 || b[positionStart] === 0x30) throw NOT_FAST;
    this.expect(E_HASH);
    const hashStart = this.at;
    this.skip64();
    this.expect(E_INCLUSION);
    const inclusionStart = this.at;
    if (b[this.at] !== 0x7b) throw NOT_FAST; // every archived event is sealed
    // Its end is the first `}`: the proof text it must equal byte for byte (wholeTree, oneProof) holds only that one.
    const inclusionEnd = b.indexOf(0x7d, inclusionStart) + 1;
    if (inclusionEnd === 0) throw NOT_FAST;
    this.at = inclusionEnd;
    const metadataRun = this.at;
    this.expect(E_METADATA);
    this.skipValue();
    const metadataEnd = this.at;
    this.expect(E_PREV);
    const prevStart = this.at;
    this.skip64();
    this.expect(E_RECORDED);
    // Not hashed: plain printable ASCII only, so that it is its own canonical text.
    if (b[this.at] !== QUOTE) throw NOT_FAST;
    this.at += 1;
    while (b[this.at]! >= 0x20 && b[this.at]! < 0x7f && b[this.at] !== QUOTE && b[this.at] !== BACKSLASH) this.at += 1;
    if (b[this.at] !== QUOTE) throw NOT_FAST;
    this.at += 1;
    const streamRun = this.at;
    this.expect(E_STREAM);
    const streamStart = this.at;
    this.skipString();
    const streamEnd = this.at;
    let streamEscaped = false;
    for (let k = streamStart; k < streamEnd; k++) if (b[k] === BACKSLASH) streamEscaped = true;
    this.expect(E_REVISION);
    const revisionStart = this.at;
    let revision = 0;
    while (b[this.at]! >= 0x30 && b[this.at]! <= 0x39) revision = revision * 10 + b[this.at++]! - 0x30;
    const revisionDigits = this.at - revisionStart;
    if (revisionDigits === 0 || revisionDigits > 15 || (revisionDigits > 1 && b[revisionStart] === 0x30)) {
      throw NOT_FAST;
    }
    this.expect(E_TYPE);
    this.skipString();
    if (b[this.at] !== 0x7d) throw NOT_FAST;
    this.at += 1;

    // prevHash ‖ {"data":…,"eventId":…,"metadata":…,"streamId":…,"streamRevision":…,"type":…}
    const length = 64 + (idEnd - eventStart) + (metadataEnd - metadataRun) + (this.at - streamRun);
    if (this.scratch.length < length) this.scratch = Buffer.allocUnsafe(length * 2);
    const out = this.scratch;
    let w = b.copy(out, 0, prevStart, prevStart + 64);
    w += b.copy(out, w, eventStart, idEnd);
    w += b.copy(out, w, metadataRun, metadataEnd);
    w += b.copy(out, w, streamRun, this.at);
    // The file's hash field must be the digest's lowercase hex (checked without a hex string per event).
    const digest = hash('sha256', out.subarray(0, w), 'binary');
    for (let k = 0; k < 32; k++) {
      const byte = digest.charCodeAt(k);
      if (b[hashStart + 2 * k] !== HEX_DIGITS[byte >> 4] || b[hashStart + 2 * k + 1] !== HEX_DIGITS[byte & 15]) {
        throw NOT_FAST;
      }
    }
    const streamId = streamEscaped
      ? (JSON.parse(b.toString('utf8', streamStart, streamEnd)) as string)
      : b.toString('utf8', streamStart + 1, streamEnd - 1);
    events.push(position, revision, hashStart, prevStart, inclusionStart, inclusionEnd, streamId);
  }

  private expect(literal: Buffer): void {
    const b = this.b;
    const at = this.at;
    if (at + literal.length > b.length) throw NOT_FAST;
    for (let k = 0; k < literal.length; k++) if (b[at + k] !== literal[k]) throw NOT_FAST;
    this.at = at + literal.length;
  }

  /**
   * Skips the 64 bytes at `at` (a hash's hex). Not validated here: the event's hash must equal the hex digest
   * recomputed, and the prevHash is part of what is hashed.
   */
  private skip64(): void {
    if (this.at + 64 > this.b.length) throw NOT_FAST;
    this.at += 64;
  }

  /**
   * Skips a JSON string at `at`. Its bytes are not validated: a string in a hashed field is checked by its hash, the
   * others are parsed or compared whole.
   */
  private skipString(): void {
    const b = this.b;
    if (b[this.at] !== QUOTE) throw NOT_FAST;
    let i = this.at + 1;
    for (;;) {
      const quote = b.indexOf(QUOTE, i);
      if (quote < 0) throw NOT_FAST;
      // An odd run of backslashes before the quote escapes it.
      let slashes = 0;
      while (b[quote - 1 - slashes] === BACKSLASH) slashes += 1;
      i = quote + 1;
      if (slashes % 2 === 0) break;
    }
    this.at = i;
  }

  /** Skips one JSON value at `at` (the writer writes no whitespace). */
  private skipValue(): void {
    const b = this.b;
    const c = b[this.at];
    if (c === QUOTE) {
      this.skipString();
      return;
    }
    if (c === 0x7b || c === 0x5b) {
      let depth = 0;
      const end = b.length;
      for (;;) {
        if (this.at >= end) throw NOT_FAST;
        const x = b[this.at]!;
        if (x === QUOTE) {
          this.skipString();
          continue;
        }
        if (x === 0x7b || x === 0x5b) depth += 1;
        else if (x === 0x7d || x === 0x5d) depth -= 1;
        this.at += 1;
        if (depth === 0) return;
      }
    }
    const start = this.at;
    while (this.at < b.length) {
      const x = b[this.at]!;
      if (x === 0x2c || x === 0x7d || x === 0x5d || x <= 0x20) break;
      this.at += 1;
    }
    if (this.at === start) throw NOT_FAST;
  }

  /** The value at `at` as text (it is parsed afterwards with JSON.parse). */
  private sliceValue(): string {
    const start = this.at;
    this.skipValue();
    return this.b.toString('utf8', start, this.at);
  }
}

const HEX_DIGITS = lit('0123456789abcdef');

/** True when the 64 bytes at a and at c are the same. */
function sameHex(b: Buffer, a: number, c: number): boolean {
  for (let k = 0; k < 64; k++) if (b[a + k] !== b[c + k]) return false;
  return true;
}

/** A position from 1 to 2^53 - 1 written canonically, as a number. */
function positionNumber(value: unknown): number {
  if (typeof value !== 'string' || !/^[1-9]\d{0,14}$/.test(value)) throw NOT_FAST;
  return Number(value);
}

/** Leaves of the checkpoint before position x (lo ≤ x ≤ to + 1): positions of [lo, x) not sealed as absent. */
function leavesBefore(checkpoint: Checkpoint, x: number): number {
  let n = x - checkpoint.from;
  for (const [a, z] of checkpoint.absent) {
    if (a >= x) break;
    n -= Math.min(z, x - 1) - a + 1;
  }
  return n;
}

/** The leaf index of position p, or -1 when it is sealed as absent. */
function leafIndex(checkpoint: Checkpoint, p: number): number {
  for (const [a, z] of checkpoint.absent) if (p >= a && p <= z) return -1;
  return leavesBefore(checkpoint, p);
}
