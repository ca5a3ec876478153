import {
  canonicalJson,
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
import { readWitnessFile, type WitnessLine } from './witness-file.js';

/**
 * `ledger verify`: re-reads the events table and checks every per-stream hash chain, the signed checkpoints and their
 * chain, the Merkle root of each checkpoint's range and, optionally, a witness file. Two read-only passes over one
 * snapshot, each paged by an index (constant memory): the global pass (positions, Merkle roots, checkpoints) in
 * global order, the stream pass (hash links, revisions, order) in (stream, revision) order.
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
  | 'witness_mismatch';

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
  batchSize?: number;
  /** Findings kept in the report (the first one is always the lowest position). */
  maxFindings?: number;
}

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
}

const SEALED_POSITION_REGEX = /^\d+$/;

export async function verifyLedger(options: VerifyOptions): Promise<VerifyReport> {
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 2 });
  const globalClient = await pool.connect();
  let streamClient: pg.PoolClient | undefined;
  try {
    await globalClient.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const [{ snapshot }] = (await globalClient.query<{ snapshot: string }>('SELECT pg_export_snapshot() AS snapshot'))
      .rows as [{ snapshot: string }];
    streamClient = await pool.connect();
    await streamClient.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await streamClient.query(`SET TRANSACTION SNAPSHOT '${snapshot.replace(/'/g, "''")}'`);
    const findings = new Findings(options.maxFindings ?? 100);
    const [global, streams] = await Promise.all([
      new GlobalPass(globalClient, options, findings).run(),
      new StreamPass(streamClient, options, findings).run(),
    ]);
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
    };
  } finally {
    await globalClient.query('ROLLBACK').catch(() => undefined);
    globalClient.release();
    if (streamClient) {
      await streamClient.query('ROLLBACK').catch(() => undefined);
      streamClient.release();
    }
    await pool.end();
  }
}

/** Collects findings; range-level ones are dropped when a precise finding explains them. */
class Findings {
  private readonly precise: IntegrityFinding[] = [];
  private readonly ranges: IntegrityFinding[] = [];
  constructor(private readonly max: number) {}

  add(finding: IntegrityFinding): void {
    (finding.kind === 'sealed_range_altered' ? this.ranges : this.precise).push(finding);
  }

  /** True when a precise finding already lies in [from, to]. */
  hasPreciseIn(from: bigint, to: bigint): boolean {
    return this.precise.some((f) => f.position !== null && BigInt(f.position) >= from && BigInt(f.position) <= to);
  }

  result(): IntegrityFinding[] {
    const explained = (range: IntegrityFinding) => this.hasPreciseIn(BigInt(range.range![0]), BigInt(range.range![1]));
    const all = [...this.precise, ...this.ranges.filter((range) => !explained(range))];
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
  private witnessCheckpoints: number | null = null;
  private previous: { hash: string; to: bigint } | null = null;
  private witness: AsyncGenerator<WitnessLine> | undefined;
  private readonly batch: number;
  private readonly from: bigint;
  private readonly to: bigint | undefined;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly options: VerifyOptions,
    private readonly findings: Findings,
  ) {
    this.batch = options.batchSize ?? 5000;
    this.from = options.from ?? 1n;
    this.to = options.to;
  }

  async run() {
    if (this.options.witnessFile) {
      this.witness = readWitnessFile(this.options.witnessFile);
      this.witnessCheckpoints = 0;
    }
    const checkpoints = this.usableCheckpoints();
    let current = await next(checkpoints);
    let range = current ? new RangeCheck(current) : undefined;
    const scanEvents = this.options.stream === undefined;
    let after = this.from - 1n;
    while (scanEvents) {
      const rows = await this.client.query<{ p: string; hash: string }>({
        text: `SELECT global_position::text AS p, hash FROM ledger.events
               WHERE global_position > $1 ${this.to === undefined ? '' : 'AND global_position <= $3'}
               ORDER BY global_position LIMIT $2`,
        values: this.to === undefined ? [String(after), this.batch] : [String(after), this.batch, String(this.to)],
        rowMode: 'array',
      } as pg.QueryConfig);
      if (rows.rows.length === 0) break;
      for (const row of rows.rows as unknown as [string, string][]) {
        const position = BigInt(row[0]);
        while (current && position > current.to) {
          this.finish(range!);
          current = await next(checkpoints);
          range = current ? new RangeCheck(current) : undefined;
        }
        if (current && position >= current.from) {
          range!.add(position, row[1], this.findings);
        } else if (!current) {
          this.unsealed += 1;
        }
        after = position;
      }
    }
    // Checkpoints whose ranges run past the last event: their missing tail is reported by finish().
    while (current) {
      if (scanEvents) this.finish(range!);
      current = await next(checkpoints);
      range = current ? new RangeCheck(current) : undefined;
    }
    await this.drainWitness();
    return {
      checkpoints: this.checkpoints,
      ranges: this.ranges,
      unsealed: this.unsealed,
      sealedThrough: this.sealedThrough,
      witnessCheckpoints: this.witnessCheckpoints,
    };
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
    await this.compareWitness(checkpoint, at);
    const from = BigInt(checkpoint.fromPosition);
    const to = BigInt(checkpoint.toPosition);
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
    const inWindow = from >= this.from && (this.to === undefined || to <= this.to);
    return {
      position: row.position,
      checkpoint,
      from,
      to,
      absent: checkpoint.absent.map(([a, b]) => [BigInt(a), BigInt(b)] as [bigint, bigint]),
      checkRange: chained && inWindow && this.options.stream === undefined,
    };
  }

  private async compareWitness(checkpoint: SealedCheckpoint, at: string): Promise<void> {
    if (!this.witness) return;
    const line = await this.witness.next();
    if (line.done) return; // the witness may lag behind the database
    this.witnessCheckpoints! += 1;
    const witnessed = line.value;
    if ('error' in witnessed) {
      this.findings.add({
        kind: 'witness_mismatch',
        position: checkpoint.fromPosition,
        message: `witness line ${witnessed.line} is ${witnessed.error}; the database has checkpoint ${checkpoint.checkpointHash} at position ${at}`,
      });
      return;
    }
    if (canonicalJson(witnessed.checkpoint) !== canonicalJson(checkpoint)) {
      this.findings.add({
        kind: 'witness_mismatch',
        position: checkpoint.fromPosition,
        range: [checkpoint.fromPosition, checkpoint.toPosition],
        message:
          `checkpoint at position ${at} (range ${checkpoint.fromPosition}..${checkpoint.toPosition}, hash ${checkpoint.checkpointHash}) ` +
          `differs from witness line ${witnessed.line} (range ${witnessed.checkpoint.fromPosition}..${witnessed.checkpoint.toPosition}, hash ${witnessed.checkpoint.checkpointHash})`,
      });
    }
  }

  /** Checkpoints the witness holds beyond the database's: the database lost them. */
  private async drainWitness(): Promise<void> {
    if (!this.witness) return;
    for (;;) {
      const line = await this.witness.next();
      if (line.done) return;
      this.witnessCheckpoints! += 1;
      const witnessed = line.value;
      const from = 'checkpoint' in witnessed ? witnessed.checkpoint.fromPosition : null;
      this.findings.add({
        kind: 'witness_mismatch',
        position: from,
        message:
          'checkpoint' in witnessed
            ? `witness line ${witnessed.line} holds checkpoint ${witnessed.checkpoint.checkpointHash} (range ${from}..${witnessed.checkpoint.toPosition}) that the database does not have`
            : `witness line ${witnessed.line} is ${witnessed.error}`,
      });
    }
  }
}

/** Checks one sealed range as its positions stream by: present positions, count and Merkle root. */
class RangeCheck {
  private readonly tree = new MerkleTreeBuilder();
  private expected: bigint;
  private absentIndex = 0;
  private problems = 0;

  constructor(readonly checkpoint: UsableCheckpoint) {
    this.expected = checkpoint.from;
  }

  add(position: bigint, hash: string, findings: Findings): void {
    if (!this.checkpoint.checkRange) return;
    this.reportMissingBefore(position, findings);
    if (this.isAbsent(position)) {
      this.problem(findings, {
        kind: 'inserted',
        position: String(position),
        message: `an event sits at position ${position}, which was empty when checkpoint ${this.describe()} was sealed`,
      });
    }
    this.tree.push(Buffer.from(hash, 'hex'));
    this.expected = position + 1n;
  }

  finish(findings: Findings): void {
    this.reportMissingBefore(this.checkpoint.to + 1n, findings);
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
  private isAbsent(position: bigint): boolean {
    const absent = this.checkpoint.absent;
    while (this.absentIndex < absent.length && absent[this.absentIndex]![1] < position) this.absentIndex += 1;
    const current = absent[this.absentIndex];
    return current !== undefined && current[0] <= position;
  }

  private reportMissingBefore(position: bigint, findings: Findings): void {
    let q = this.expected;
    while (q < position) {
      if (this.isAbsent(q)) {
        q = this.checkpoint.absent[this.absentIndex]![1] + 1n;
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

interface StreamRow {
  p: string;
  event_id: string;
  stream_id: string;
  stream_revision: string;
  type: string;
  data: unknown;
  metadata: unknown;
  prev_hash: string;
  hash: string;
}

class StreamPass {
  private events = 0;
  private streams = 0;
  private stream: string | null = null;
  private expectedRevision = 0;
  private expectedPrev = GENESIS_HASH;
  private previousPosition: bigint | null = null;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly options: VerifyOptions,
    private readonly findings: Findings,
  ) {}

  async run(): Promise<{ events: number; streams: number }> {
    const batch = this.options.batchSize ?? 5000;
    const values: unknown[] = ['', -1, batch];
    const where: string[] = ['(stream_id, stream_revision) > ($1, $2)'];
    if (this.options.stream !== undefined) where.push(`stream_id = $${values.push(this.options.stream)}`);
    if (this.options.from !== undefined) where.push(`global_position >= $${values.push(String(this.options.from))}`);
    if (this.options.to !== undefined) where.push(`global_position <= $${values.push(String(this.options.to))}`);
    const text = `SELECT global_position::text AS p, event_id::text, stream_id, stream_revision::text, type, data,
                         metadata, prev_hash, hash
                  FROM ledger.events AS e WHERE ${where.join(' AND ')}
                  ORDER BY e.stream_id, e.stream_revision LIMIT $3`;
    // Qualified: an unqualified ORDER BY stream_revision would sort by the text output column ("10" < "2").
    for (;;) {
      const { rows } = await this.client.query<StreamRow>(text, values);
      if (rows.length === 0) break;
      for (const row of rows) await this.check(row);
      const last = rows[rows.length - 1]!;
      values[0] = last.stream_id;
      values[1] = last.stream_revision;
    }
    if (this.options.stream !== undefined && this.streams === 0) {
      this.findings.add({
        kind: 'missing_stream',
        position: null,
        streamId: this.options.stream,
        message: `stream ${this.options.stream} has no events${this.options.from !== undefined || this.options.to !== undefined ? ' in the window' : ''}`,
      });
    }
    return { events: this.events, streams: this.streams };
  }

  private async check(row: StreamRow): Promise<void> {
    this.events += 1;
    const position = BigInt(row.p);
    const revision = Number(row.stream_revision);
    const streamId = row.stream_id;
    const at = String(position);
    if (streamId !== this.stream) {
      this.stream = streamId;
      this.streams += 1;
      this.expectedRevision = 0;
      this.expectedPrev = GENESIS_HASH;
      this.previousPosition = null;
      if (revision > 0 && this.options.from !== undefined) {
        // A window starts mid-stream: link to the event before it.
        const before = await this.client.query<{ p: string; hash: string }>(
          'SELECT global_position::text AS p, hash FROM ledger.events WHERE stream_id = $1 AND stream_revision = $2',
          [streamId, revision - 1],
        );
        const previous = before.rows[0];
        if (previous) {
          this.expectedRevision = revision;
          this.expectedPrev = previous.hash;
          this.previousPosition = BigInt(previous.p);
        }
      }
    }
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
    const fields = {
      eventId: row.event_id,
      streamId,
      streamRevision: revision,
      type: row.type,
      data: row.data,
      metadata: row.metadata,
    };
    const recomputed = chainHash(row.prev_hash, fields);
    if (recomputed !== row.hash) {
      const movedFrom = [revision - 1, revision + 1].find(
        (other) => other >= 0 && chainHash(row.prev_hash, { ...fields, streamRevision: other }) === row.hash,
      );
      this.findings.add(
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
      );
    } else if (row.prev_hash !== this.expectedPrev && revision === this.expectedRevision) {
      const previousAt = this.previousPosition === null ? at : String(this.previousPosition);
      this.findings.add({
        kind: 'broken_link',
        position: previousAt,
        streamId,
        streamRevision: revision - 1,
        message:
          `stream ${streamId} revision ${revision} (position ${at}) links to ${row.prev_hash}, not to revision ${revision - 1}'s hash ${this.expectedPrev}: ` +
          `the event at position ${previousAt} was replaced and re-hashed, or an event was inserted there`,
      });
    }
    this.expectedRevision = revision + 1;
    this.expectedPrev = row.hash;
    this.previousPosition = position;
  }
}

async function next<T>(iterator: AsyncGenerator<T>): Promise<T | undefined> {
  const result = await iterator.next();
  return result.done ? undefined : result.value;
}
