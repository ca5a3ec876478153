import {
  chainHash,
  checkCheckpointSignature,
  GENESIS_CHECKPOINT_HASH,
  GENESIS_HASH,
  MerkleTreeBuilder,
  parseSealedCheckpoint,
  type PublicKeyRing,
  type SealedCheckpoint,
} from '@audit-ledger/integrity';
import pg from 'pg';
import { CHECKPOINT_SEALED, CHECKPOINTS_STREAM } from './checkpoint-sealer.js';
import { ContentCheckOffload } from './content-check-offload.js';
import { copyRows } from './copy-rows.js';
import { EVENT_COLUMNS, EVENT_FIELDS, int64, RowContentHash } from './row-content-hash.js';
import { StreamLinks, type BrokenLink } from './stream-links.js';
import { WitnessComparison, type WitnessArchivedCounts } from './witness-comparison.js';

/**
 * `ledger verify`: re-reads the events table and checks every per-stream hash chain, the signed checkpoints and their
 * chain, the Merkle root of each checkpoint's range and, optionally, a witness file. One read-only pass over a
 * snapshot in global order checks content hashes, positions, Merkle roots, checkpoints and the hash links of every
 * stream whose revisions arrive in order (stream-links.ts); a second pass in (stream, revision) order checks the
 * streams that do not (tampered ones), every stream when there are too many to track, or the one stream of --stream.
 */
export type FindingKind =
  /** An event's hash does not match its content: it was changed after it was written. */
  | 'edited'
  /** A position sealed by a checkpoint, or a stream revision, is missing. */
  | 'deleted'
  /** An event sits at a position that was empty when sealed. */
  | 'inserted'
  /** An event's position or revision does not follow its stream's order. */
  | 'reordered'
  /** An event's hash is consistent but the next event links to another one: it was replaced (re-hashed). */
  | 'broken_link'
  /** A checkpoint's range does not hash to its Merkle root: changed with the hash chain rewritten. */
  | 'sealed_range_altered'
  /** The stream asked for (--stream) has no events. */
  | 'missing_stream'
  | 'bad_signature'
  | 'unknown_key'
  /** A checkpoint that does not follow the previous one (hash, range), or is malformed. */
  | 'checkpoint_chain'
  /** The witness file and the database disagree. */
  | 'witness_mismatch'
  /** An event at a global position below 1, which the ledger never assigns: written around the sequence. */
  | 'invalid_position';

export interface IntegrityFinding {
  kind: FindingKind;
  /** The first bad global position (for a sealed range: its first position), or null when none applies. */
  position: string | null;
  streamId?: string;
  streamRevision?: number;
  /** For findings about a sealed range: its inclusive bounds. */
  range?: [string, string];
  message: string;
}

export interface VerifyOptions {
  databaseUrl: string;
  keys: PublicKeyRing;
  /** Only this stream's hash chain (checkpoints are still checked, their ranges are not). */
  stream?: string;
  /** Inclusive global-position window; only checkpoints entirely inside it have their ranges checked. */
  from?: bigint;
  to?: bigint;
  witnessFile?: string;
  /** Rows whose content is hashed on the calling thread before a worker thread takes over (default 2,000). */
  inlineContentRows?: number;
  /** Findings kept in the report (the first one is always the lowest position). */
  maxFindings?: number;
  /**
   * Streams whose hash links the global pass tracks (one map entry each, about 250 bytes); beyond it the links are
   * checked by a second pass in (stream, revision) order instead (default 250,000).
   */
  maxTrackedStreams?: number;
  /**
   * Called as the global pass reads events (every 1,024 and at the end) with the last position read and the highest
   * position in the window: what a progress bar shows.
   */
  onProgress?: (progress: { position: number; last: number }) => void;
  /**
   * Issue 13: the positions up to `toPosition` were archived and dropped (the newest tombstone). Verification starts
   * after it (unless `from` says otherwise); the first checkpoint after it must chain on `lastCheckpointHash`.
   */
  cut?: { toPosition: bigint; lastCheckpointHash: string };
  /**
   * The event before `revision` when the database no longer holds it (archived): the archives' head of the stream,
   * 'accept' when no archive was given (the link cannot be checked), or undefined (missing: reported).
   */
  beforeCut?: (streamId: string, revision: number) => { position: number; hash: string } | 'accept' | undefined;
  /**
   * With `cut` and archive files: the archives' checkpoints by toPosition, which the witness lines ending at or
   * before the tombstone are compared with (without them those lines are counted as covered by the archive).
   */
  archivedCheckpoints?: ReadonlyMap<string, SealedCheckpoint>;
}

const DEFAULT_MAX_TRACKED_STREAMS = 250_000;
/** Irregular streams re-checked by name; beyond it the stream pass reads every stream. */
const MAX_NAMED_STREAMS = 1_000;

export interface VerifyReport {
  ok: boolean;
  /** The first problem by global position (range-level problems count from their first position). */
  firstProblem: IntegrityFinding | null;
  problems: IntegrityFinding[];
  eventsChecked: number;
  streamsChecked: number;
  checkpointsChecked: number;
  rangesChecked: number;
  /** The last position covered by a valid checkpoint (null: none). */
  sealedThrough: string | null;
  /** Events after the last checkpoint: protected by their hash chains only. */
  unsealedEvents: number;
  witnessCheckpoints: number | null;
  /** With a witness file and a tombstone: its lines ending at or before the tombstone, checked or not checked. */
  witnessArchived: WitnessArchivedCounts | null;
}

const SEALED_POSITION_REGEX = /^\d+$/;

/**
 * The passes read whole tables in an index's order: walking the index costs the server less CPU than a (parallel)
 * scan and a sort of every row, and parallel workers would compete for the cores the verifier's threads use.
 */
const WALK_THE_INDEXES =
  'SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off';

export async function verifyLedger(input: VerifyOptions): Promise<VerifyReport> {
  const options = input.cut && input.from === undefined ? { ...input, from: input.cut.toPosition + 1n } : input;
  // Four connections on one exported snapshot: each pass streams its rows with COPY on one and runs its small
  // look-ups (checkpoints, the event before a window) on another.
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 4 });
  // A connection that dies while idle (server restart, database dropped) must not crash the process: every pass runs
  // on checked-out clients, whose queries then fail with the cause.
  pool.on('error', () => undefined);
  // A connection that dies while checked out emits 'error' too: its query fails, the process must not.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const clients: pg.PoolClient[] = [];
  try {
    const first = await pool.connect();
    clients.push(first);
    await first.query(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; ${WALK_THE_INDEXES}`);
    const [{ snapshot }] = (await first.query<{ snapshot: string }>('SELECT pg_export_snapshot() AS snapshot'))
      .rows as [{ snapshot: string }];
    for (let i = 1; i < 4; i++) {
      const client = await pool.connect();
      clients.push(client);
      await client.query(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; ${WALK_THE_INDEXES}`);
      await client.query(`SET TRANSACTION SNAPSHOT ${client.escapeLiteral(snapshot)}`);
    }
    const [globalCopy, globalSide, streamCopy, streamSide] = clients as [
      pg.PoolClient,
      pg.PoolClient,
      pg.PoolClient,
      pg.PoolClient,
    ];
    const findings = new Findings(options.maxFindings ?? 100);
    let global: Awaited<ReturnType<GlobalPass['run']>>;
    let streams: { events: number; streams: number };
    if (options.stream !== undefined) {
      // One stream: its chain from the (stream, revision) index; the global pass checks only the checkpoints.
      [global, streams] = await Promise.all([
        new GlobalPass(globalCopy, globalSide, options, findings, undefined).run(),
        new StreamPass(streamCopy, streamSide, options, findings).run(),
      ]);
    } else {
      const links = new StreamLinks(
        options.maxTrackedStreams ?? DEFAULT_MAX_TRACKED_STREAMS,
        options.from === undefined
          ? undefined
          : async (streamId, revision) =>
              (await eventBefore(streamSide, streamId, revision)) ?? options.beforeCut?.(streamId, revision),
      );
      global = await new GlobalPass(globalCopy, globalSide, options, findings, links).run();
      streams = { events: links.events, streams: links.streams };
      if (links.overflowed || links.irregular.length > MAX_NAMED_STREAMS) {
        streams = await new StreamPass(streamCopy, streamSide, options, findings).run();
      } else {
        for (const link of links.brokenLinks()) findings.addBrokenLink(brokenLinkFinding(link), link.position);
        if (links.irregular.length > 0) {
          await new StreamPass(streamCopy, streamSide, options, findings, links.irregular).run();
        }
      }
    }
    const problems = findings.result();
    return {
      ok: problems.length === 0,
      firstProblem: problems[0] ?? null,
      problems,
      eventsChecked: streams.events,
      streamsChecked: streams.streams,
      checkpointsChecked: global.checkpoints,
      rangesChecked: global.ranges,
      sealedThrough: global.sealedThrough,
      unsealedEvents: global.unsealed,
      witnessCheckpoints: global.witnessCheckpoints,
      witnessArchived: global.witnessArchived,
    };
  } finally {
    for (const client of clients) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    }
    await pool.end();
  }
}

/** Collects findings; range-level ones are dropped when a precise finding explains them. */
class Findings {
  private readonly precise: IntegrityFinding[] = [];
  private readonly ranges: IntegrityFinding[] = [];
  /** Positions whose content does not match their hash (checked in the global pass). */
  private readonly contentFailed = new Set<string>();
  /** broken_link findings by the position of the event whose prevHash is wrong. */
  private readonly links = new Map<IntegrityFinding, string>();
  constructor(private readonly max: number) {}

  add(finding: IntegrityFinding): void {
    (finding.kind === 'sealed_range_altered' ? this.ranges : this.precise).push(finding);
  }

  addContentFailure(finding: IntegrityFinding, position: string): void {
    this.contentFailed.add(position);
    this.add(finding);
  }

  /** A wrong prevHash at `subject` says nothing more when `subject`'s own content does not match its hash. */
  addBrokenLink(finding: IntegrityFinding, subject: string): void {
    this.links.set(finding, subject);
    this.add(finding);
  }

  /** True when a precise finding already lies in [from, to]. */
  hasPreciseIn(from: bigint, to: bigint): boolean {
    return this.precise.some((f) => f.position !== null && BigInt(f.position) >= from && BigInt(f.position) <= to);
  }

  result(): IntegrityFinding[] {
    const explained = (range: IntegrityFinding) => this.hasPreciseIn(BigInt(range.range![0]), BigInt(range.range![1]));
    const superseded = (f: IntegrityFinding) => this.contentFailed.has(this.links.get(f) ?? '');
    const precise = this.precise.filter((f) => !superseded(f));
    const all = [...precise, ...this.ranges.filter((range) => !explained(range))];
    const key = (f: IntegrityFinding) => (f.position === null ? Number.MAX_SAFE_INTEGER : Number(f.position));
    return all.sort((a, b) => key(a) - key(b)).slice(0, this.max);
  }
}

interface CheckpointRow {
  position: bigint;
  revision: number;
  type: string;
  data: unknown;
}

/** A checkpoint whose signature and place in the chain were checked, and whether its range can be checked. */
interface UsableCheckpoint {
  position: bigint;
  checkpoint: SealedCheckpoint;
  from: bigint;
  to: bigint;
  absent: [bigint, bigint][];
  checkRange: boolean;
}

class GlobalPass {
  private checkpoints = 0;
  private ranges = 0;
  private unsealed = 0;
  private sealedThrough: string | null = null;
  private previous: { hash: string; to: bigint } | null = null;
  private witness: WitnessComparison | undefined;
  /** Unset: every row, whatever its position (rows below 1 are read and reported, never skipped). */
  private readonly from: bigint | undefined;
  private readonly to: bigint | undefined;
  private readonly content: ContentCheckOffload;
  private checkpointsInOrder: AsyncGenerator<UsableCheckpoint> | undefined;
  private current: UsableCheckpoint | undefined;
  private range: RangeCheck | undefined;

  constructor(
    private readonly copyClient: pg.PoolClient,
    private readonly client: pg.PoolClient,
    private readonly options: VerifyOptions,
    private readonly findings: Findings,
    /** Hash links checked in this pass (undefined: by the stream pass). */
    private readonly links: StreamLinks | undefined,
  ) {
    this.from = options.from;
    this.to = options.to;
    if (options.cut) this.previous = { hash: options.cut.lastCheckpointHash, to: options.cut.toPosition };
    this.content = new ContentCheckOffload(
      (row, fields) => reportContentFailure(row, fields, findings),
      options.inlineContentRows,
    );
  }

  async run() {
    if (this.options.witnessFile) {
      const { cut, archivedCheckpoints } = this.options;
      this.witness = new WitnessComparison(
        this.options.witnessFile,
        cut && { ...cut, archived: archivedCheckpoints },
        (finding) => this.findings.add(finding),
      );
    }
    const checkpoints = this.usableCheckpoints();
    this.checkpointsInOrder = checkpoints;
    await this.nextCheckpoint();
    const scanEvents = this.options.stream === undefined;
    if (scanEvents) {
      const bounds = [
        ...(this.from === undefined ? [] : [`global_position >= ${this.from}`]),
        ...(this.to === undefined ? [] : [`global_position <= ${this.to}`]),
      ];
      const window = bounds.length > 0 ? bounds.join(' AND ') : 'true';
      const progress = this.options.onProgress;
      const last = progress
        ? Number(
            (
              await this.client.query<{ last: string }>(
                `SELECT coalesce(max(global_position), 0)::text AS last FROM ledger.events WHERE ${window}`,
              )
            ).rows[0]?.last ?? '0',
          )
        : 0;
      let read = 0;
      let position = 0;
      await copyRows(
        this.copyClient,
        `SELECT ${EVENT_COLUMNS} FROM ledger.events AS e WHERE ${window} ORDER BY e.global_position`,
        EVENT_FIELDS,
        (row, fields, start, end) => {
          position = int64(row, fields[0]!);
          if (progress && ++read % 1024 === 0) progress({ position, last });
          const hash = row.toString('latin1', fields[16]!, fields[17]!);
          if (position < 1)
            reportInvalidPosition(position, row.toString('utf8', fields[4]!, fields[5]!), this.findings);
          let checked = this.content.check(row, fields, start, end);
          const linked = this.links?.add(
            position,
            row.toString('utf8', fields[4]!, fields[5]!),
            int64(row, fields[6]!),
            row.toString('latin1', fields[14]!, fields[15]!),
            hash,
          );
          if (linked) checked = checked ? Promise.all([checked, linked]).then(() => undefined) : linked;
          if (this.range && position > this.range.to) {
            return checked ? checked.then(() => this.crossInto(position, hash)) : this.crossInto(position, hash);
          }
          this.place(position, hash);
          return checked;
        },
      );
      await this.content.finish();
      progress?.({ position: position > last ? position : last, last });
    }
    // Checkpoints whose ranges run past the last event: their missing tail is reported by finish().
    while (this.current) {
      if (scanEvents) this.finish(this.range!);
      await this.nextCheckpoint();
    }
    await this.witness?.drain();
    return {
      checkpoints: this.checkpoints,
      ranges: this.ranges,
      unsealed: this.unsealed,
      sealedThrough: this.sealedThrough,
      witnessCheckpoints: this.witness?.read ?? null,
      witnessArchived: this.witness && this.options.cut ? this.witness.archived : null,
    };
  }

  private async nextCheckpoint(): Promise<void> {
    this.current = await next(this.checkpointsInOrder!);
    this.range = this.current ? new RangeCheck(this.current) : undefined;
  }

  /** The event at `position` lies beyond the current checkpoint's range: close ranges until one holds it. */
  private async crossInto(position: number, hash: string): Promise<void> {
    while (this.range && position > this.range.to) {
      this.finish(this.range!);
      await this.nextCheckpoint();
    }
    this.place(position, hash);
  }

  private place(position: number, hash: string): void {
    if (this.range && position >= this.range.from) this.range.add(position, hash, this.findings);
    else if (!this.current) this.unsealed += 1;
  }

  private finish(range: RangeCheck): void {
    if (!range.checkpoint.checkRange) return;
    this.ranges += 1;
    range.finish(this.findings);
  }

  /** Every checkpoint in chain order, checked for signature, chain and witness; yields those whose range to check. */
  private async *usableCheckpoints(): AsyncGenerator<UsableCheckpoint> {
    let after = -1;
    for (;;) {
      const { rows } = await this.client.query<{ p: string; revision: string; type: string; data: unknown }>(
        `SELECT global_position::text AS p, stream_revision::text AS revision, type, data FROM ledger.events
         WHERE stream_id = $1 AND stream_revision > $2 ORDER BY stream_revision LIMIT 500`,
        [CHECKPOINTS_STREAM, after],
      );
      if (rows.length === 0) return;
      for (const row of rows) {
        after = Number(row.revision);
        const usable = await this.checkCheckpoint({
          position: BigInt(row.p),
          revision: after,
          type: row.type,
          data: row.data,
        });
        if (usable) yield usable;
      }
    }
  }

  private async checkCheckpoint(row: CheckpointRow): Promise<UsableCheckpoint | null> {
    this.checkpoints += 1;
    const at = String(row.position);
    const checkpoint = row.type === CHECKPOINT_SEALED ? parseSealedCheckpoint(row.data) : null;
    if (!checkpoint) {
      this.findings.add({
        kind: 'checkpoint_chain',
        position: at,
        streamId: CHECKPOINTS_STREAM,
        streamRevision: row.revision,
        message: `the event at position ${at} in stream ${CHECKPOINTS_STREAM} is not a sealed checkpoint (type ${row.type})`,
      });
      this.previous = null;
      return null;
    }
    const from = BigInt(checkpoint.fromPosition);
    const to = BigInt(checkpoint.toPosition);
    // Witness lines up to the tombstone are checked against it (witness-comparison.ts), not against these.
    if (this.options.cut && to <= this.options.cut.toPosition) return this.archivedCheckpoint(checkpoint, at);
    await this.witness?.compare(checkpoint, at);
    const range: [string, string] = [checkpoint.fromPosition, checkpoint.toPosition];
    const signature = checkCheckpointSignature(checkpoint, this.options.keys);
    if (signature) {
      const message =
        signature.kind === 'unknown_key'
          ? `checkpoint at position ${at} is signed by key ${signature.keyId}, which is not among the public keys`
          : signature.kind === 'bad_signature'
            ? `checkpoint at position ${at} (range ${from}..${to}): its Ed25519 signature does not verify with key ${signature.keyId}`
            : `checkpoint at position ${at} (range ${from}..${to}): its fields do not hash to its checkpointHash`;
      this.findings.add({
        kind: signature.kind === 'unknown_key' ? 'unknown_key' : 'bad_signature',
        position: checkpoint.fromPosition,
        range,
        message,
      });
    }
    let chained = true;
    const expectedPrevious = this.previous?.hash ?? GENESIS_CHECKPOINT_HASH;
    const expectedFrom = this.previous ? this.previous.to + 1n : 1n;
    if (row.revision === 0 || this.previous) {
      if (checkpoint.previousCheckpointHash !== expectedPrevious) {
        chained = false;
        this.findings.add({
          kind: 'checkpoint_chain',
          position: checkpoint.fromPosition,
          range,
          message: `checkpoint at position ${at}: previousCheckpointHash ${checkpoint.previousCheckpointHash} is not the previous checkpoint's hash ${expectedPrevious}`,
        });
      } else if (from !== expectedFrom) {
        chained = false;
        this.findings.add({
          kind: 'checkpoint_chain',
          position: checkpoint.fromPosition,
          range,
          message: `checkpoint at position ${at} covers ${from}..${to}, but the previous one ended at ${expectedFrom - 1n}`,
        });
      }
    }
    if (to < from - 1n || to >= row.position || !SEALED_POSITION_REGEX.test(checkpoint.toPosition)) {
      chained = false;
      this.findings.add({
        kind: 'checkpoint_chain',
        position: at,
        range,
        message: `checkpoint at position ${at} claims the impossible range ${from}..${to}`,
      });
    }
    this.previous = { hash: checkpoint.checkpointHash, to };
    if (!signature && chained) this.sealedThrough = checkpoint.toPosition;
    const inWindow = (this.from === undefined || from >= this.from) && (this.to === undefined || to <= this.to);
    return {
      position: row.position,
      checkpoint,
      from,
      to,
      absent: checkpoint.absent.map(([a, b]) => [BigInt(a), BigInt(b)] as [bigint, bigint]),
      checkRange: chained && inWindow && this.options.stream === undefined,
    };
  }

  /** A checkpoint of an archived range (its events were dropped): its signature only; the archives hold the rest. */
  private archivedCheckpoint(checkpoint: SealedCheckpoint, at: string): null {
    const signature = checkCheckpointSignature(checkpoint, this.options.keys);
    if (signature) {
      this.findings.add({
        kind: signature.kind === 'unknown_key' ? 'unknown_key' : 'bad_signature',
        position: checkpoint.fromPosition,
        range: [checkpoint.fromPosition, checkpoint.toPosition],
        message: `checkpoint at position ${at} (archived range ${checkpoint.fromPosition}..${checkpoint.toPosition}) does not verify (${signature.kind})`,
      });
    }
    return null;
  }
}

/**
 * Checks one sealed range as its positions stream by: present positions, count and Merkle root. Positions as numbers
 * (safe integers, as the rows hold them): no BigInt per event.
 */
class RangeCheck {
  private readonly tree = new MerkleTreeBuilder();
  readonly from: number;
  readonly to: number;
  private readonly absent: [number, number][];
  private expected: number;
  private absentIndex = 0;
  private problems = 0;

  constructor(readonly checkpoint: UsableCheckpoint) {
    this.from = Number(checkpoint.from);
    this.to = Number(checkpoint.to);
    this.absent = checkpoint.absent.map(([a, b]) => [Number(a), Number(b)]);
    this.expected = this.from;
  }

  add(position: number, hash: string, findings: Findings): void {
    if (!this.checkpoint.checkRange) return;
    this.reportMissingBefore(position, findings);
    if (this.isAbsent(position)) {
      this.problem(findings, {
        kind: 'inserted',
        position: String(position),
        message: `an event sits at position ${position}, which was empty when checkpoint ${this.describe()} was sealed`,
      });
    }
    this.tree.pushHex(hash);
    this.expected = position + 1;
  }

  finish(findings: Findings): void {
    this.reportMissingBefore(this.to + 1, findings);
    if (this.problems > 0) return;
    const { checkpoint } = this.checkpoint;
    const root = this.tree.root().toString('hex');
    if (this.tree.count !== checkpoint.count || root !== checkpoint.merkleRoot) {
      findings.add({
        kind: 'sealed_range_altered',
        position: checkpoint.fromPosition,
        range: [checkpoint.fromPosition, checkpoint.toPosition],
        message:
          `the events at positions ${checkpoint.fromPosition}..${checkpoint.toPosition} do not match checkpoint ${this.describe()}: ` +
          `Merkle root ${root} over ${this.tree.count} events, sealed ${checkpoint.merkleRoot} over ${checkpoint.count}; ` +
          'an event in this range was changed and its hash chain rewritten, or events were renumbered',
      });
    }
  }

  private describe(): string {
    return `at position ${this.checkpoint.position}`;
  }

  /** Skips absent ranges; true when `position` is inside one. */
  private isAbsent(position: number): boolean {
    const absent = this.absent;
    while (this.absentIndex < absent.length && absent[this.absentIndex]![1] < position) this.absentIndex += 1;
    const current = absent[this.absentIndex];
    return current !== undefined && current[0] <= position;
  }

  private reportMissingBefore(position: number, findings: Findings): void {
    let q = this.expected;
    while (q < position) {
      if (this.isAbsent(q)) {
        q = this.absent[this.absentIndex]![1] + 1;
        continue;
      }
      this.problem(findings, {
        kind: 'deleted',
        position: String(q),
        message: `position ${q} is sealed by checkpoint ${this.describe()} but holds no event: it was deleted`,
      });
      return;
    }
  }

  private problem(findings: Findings, finding: IntegrityFinding): void {
    this.problems += 1;
    findings.add(finding);
  }
}

/** The stream pass without content checks: what hash links, revisions and order need. */
const LINK_COLUMNS = 'global_position, stream_id, stream_revision, prev_hash, hash';
const LINK_FIELDS = 5;

/**
 * An event whose content does not hash to its stored hash (`RowContentHash`): `edited`, or `reordered` when it hashes
 * as the neighbouring revision instead.
 */
function reportContentFailure(row: Buffer, fields: Int32Array, findings: Findings): void {
  const text = (field: number) => row.toString('utf8', fields[field * 2]!, fields[field * 2 + 1]!);
  const at = String(row.readBigInt64BE(fields[0]!));
  const revision = int64(row, fields[6]!);
  const streamId = text(2);
  const prevHash = text(7);
  const hash = text(8);
  const parse = (json: string): unknown => {
    try {
      return JSON.parse(json);
    } catch {
      return json;
    }
  };
  const event = {
    eventId: text(1),
    streamId,
    streamRevision: revision,
    type: text(4),
    data: parse(text(5)),
    metadata: parse(text(6)),
  };
  const movedFrom = [revision - 1, revision + 1].find(
    (other) => other >= 0 && chainHash(prevHash, { ...event, streamRevision: other }) === hash,
  );
  findings.addContentFailure(
    movedFrom === undefined
      ? {
          kind: 'edited',
          position: at,
          streamId,
          streamRevision: revision,
          message: `the event at position ${at} (stream ${streamId} revision ${revision}) does not match its hash: it was edited`,
        }
      : {
          kind: 'reordered',
          position: at,
          streamId,
          streamRevision: revision,
          message: `the event at position ${at} was written as revision ${movedFrom} of stream ${streamId} and now is revision ${revision}: the events were reordered`,
        },
    at,
  );
}

/**
 * Hash links, revisions and order, stream by stream. Content hashes are checked by the global pass, which reads every
 * event anyway; with --stream (no global scan) this pass checks them too.
 */
class StreamPass {
  private events = 0;
  private streams = 0;
  private stream: string | null = null;
  private expectedRevision = 0;
  private expectedPrev = GENESIS_HASH;
  private previousPosition: bigint | null = null;
  private readonly content: RowContentHash | undefined;

  constructor(
    private readonly copyClient: pg.PoolClient,
    private readonly client: pg.PoolClient,
    private readonly options: VerifyOptions,
    private readonly findings: Findings,
    /** Only these streams (those the global pass found irregular). */
    private readonly only?: readonly string[],
  ) {
    if (options.stream !== undefined) this.content = new RowContentHash();
  }

  async run(): Promise<{ events: number; streams: number }> {
    const where: string[] = ['true'];
    const { stream, from, to } = this.options;
    if (stream !== undefined) where.push(`stream_id = ${this.copyClient.escapeLiteral(stream)}`);
    if (this.only) where.push(`stream_id IN (${this.only.map((id) => this.copyClient.escapeLiteral(id)).join(', ')})`);
    if (from !== undefined) where.push(`global_position >= ${from}`);
    if (to !== undefined) where.push(`global_position <= ${to}`);
    const content = this.content;
    // Field indexes of position, stream, revision, prevHash, hash in the row read.
    const [p, s, r, ph, h] = content ? [0, 2, 3, 7, 8] : [0, 1, 2, 3, 4];
    await copyRows(
      this.copyClient,
      `SELECT ${content ? EVENT_COLUMNS : LINK_COLUMNS} FROM ledger.events AS e WHERE ${where.join(' AND ')}
       ORDER BY e.stream_id, e.stream_revision`,
      content ? EVENT_FIELDS : LINK_FIELDS,
      (row, fields) => {
        const hash = row.toString('latin1', fields[h * 2]!, fields[h * 2 + 1]!);
        if (content && !content.matches(row, fields)) {
          reportContentFailure(row, fields, this.findings);
        }
        return this.check(
          row.readBigInt64BE(fields[p * 2]!),
          row.toString('utf8', fields[s * 2]!, fields[s * 2 + 1]!),
          int64(row, fields[r * 2]!),
          row.toString('latin1', fields[ph * 2]!, fields[ph * 2 + 1]!),
          hash,
        );
      },
    );
    if (stream !== undefined && this.streams === 0) {
      this.findings.add({
        kind: 'missing_stream',
        position: null,
        streamId: stream,
        message: `stream ${stream} has no events${from !== undefined || to !== undefined ? ' in the window' : ''}`,
      });
    }
    return { events: this.events, streams: this.streams };
  }

  private check(position: bigint, streamId: string, revision: number, prevHash: string, hash: string) {
    if (streamId === this.stream) return this.checkLinks(position, streamId, revision, prevHash, hash);
    this.stream = streamId;
    this.streams += 1;
    this.expectedRevision = 0;
    this.expectedPrev = GENESIS_HASH;
    this.previousPosition = null;
    if (revision > 0 && this.options.from !== undefined) {
      return this.linkToEventBeforeWindow(streamId, revision, prevHash).then(() =>
        this.checkLinks(position, streamId, revision, prevHash, hash),
      );
    }
    return this.checkLinks(position, streamId, revision, prevHash, hash);
  }

  /** A window starts mid-stream: link to the event before it. */
  private async linkToEventBeforeWindow(streamId: string, revision: number, prevHash: string): Promise<void> {
    const previous =
      (await eventBefore(this.client, streamId, revision)) ?? this.options.beforeCut?.(streamId, revision);
    if (previous === 'accept') {
      this.expectedRevision = revision;
      this.expectedPrev = prevHash;
    } else if (previous) {
      this.expectedRevision = revision;
      this.expectedPrev = previous.hash;
      this.previousPosition = BigInt(previous.position);
    }
  }

  private checkLinks(position: bigint, streamId: string, revision: number, prevHash: string, hash: string): void {
    this.events += 1;
    const at = String(position);
    // With --stream no global pass reads the events: this pass reports the positions the ledger never assigns.
    if (this.options.stream !== undefined && position < 1n) reportInvalidPosition(position, streamId, this.findings);
    if (revision !== this.expectedRevision) {
      this.findings.add({
        kind: 'deleted',
        position: at,
        streamId,
        streamRevision: revision,
        message:
          (this.expectedRevision === 0
            ? `stream ${streamId} starts at revision ${revision} (position ${at}): `
            : `stream ${streamId} jumps from revision ${this.expectedRevision - 1} to ${revision} at position ${at}: `) +
          `revision${revision - this.expectedRevision > 1 ? `s ${this.expectedRevision}..${revision - 1} were` : ` ${this.expectedRevision} was`} deleted`,
      });
    } else if (this.previousPosition !== null && position <= this.previousPosition) {
      this.findings.add({
        kind: 'reordered',
        position: at,
        streamId,
        streamRevision: revision,
        message: `stream ${streamId} revision ${revision} is at position ${at}, before revision ${revision - 1} at position ${this.previousPosition}: the events were reordered`,
      });
    }
    if (prevHash !== this.expectedPrev && revision === this.expectedRevision) {
      const link: BrokenLink = {
        streamId,
        revision,
        position: at,
        prevHash,
        expectedPrev: this.expectedPrev,
        previousPosition: this.previousPosition === null ? at : String(this.previousPosition),
      };
      this.findings.addBrokenLink(brokenLinkFinding(link), at);
    }
    this.expectedRevision = revision + 1;
    this.expectedPrev = hash;
    this.previousPosition = position;
  }
}

/** A row below position 1: the sequence never gives one out, so it was written around it (OVERRIDING SYSTEM VALUE). */
function reportInvalidPosition(position: number | bigint, streamId: string, findings: Findings): void {
  findings.add({
    kind: 'invalid_position',
    position: String(position),
    streamId,
    message: `an event of stream ${streamId} sits at global position ${position}, below 1, which the ledger never assigns: it was inserted around the position sequence`,
  });
}

/** The event before `revision` in `streamId` (a window that starts mid-stream links to it). */
async function eventBefore(
  client: pg.PoolClient,
  streamId: string,
  revision: number,
): Promise<{ position: number; hash: string } | undefined> {
  const { rows } = await client.query<{ p: string; hash: string }>(
    'SELECT global_position::text AS p, hash FROM ledger.events WHERE stream_id = $1 AND stream_revision = $2',
    [streamId, revision - 1],
  );
  const row = rows[0];
  return row ? { position: Number(row.p), hash: row.hash } : undefined;
}

/** A successor that does not link to its predecessor: the predecessor was replaced (or something inserted there). */
function brokenLinkFinding(link: BrokenLink): IntegrityFinding {
  const { streamId, revision, position, prevHash, expectedPrev, previousPosition } = link;
  return {
    kind: 'broken_link',
    position: previousPosition,
    streamId,
    streamRevision: revision - 1,
    message:
      `stream ${streamId} revision ${revision} (position ${position}) links to ${prevHash}, not to revision ${revision - 1}'s hash ${expectedPrev}: ` +
      `the event at position ${previousPosition} was replaced and re-hashed, or an event was inserted there`,
  };
}

async function next<T>(iterator: AsyncGenerator<T>): Promise<T | undefined> {
  const result = await iterator.next();
  return result.done ? undefined : result.value;
}
