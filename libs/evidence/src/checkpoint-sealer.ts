import { StreamNotFoundError, WrongExpectedVersionError, type EventStore } from '@audit-ledger/event-store';
import {
  GENESIS_CHECKPOINT_HASH,
  MerkleTreeBuilder,
  parseSealedCheckpoint,
  sealCheckpoint,
  type SealedCheckpoint,
  type SigningKey,
} from '@audit-ledger/integrity';
import { randomUUID } from 'node:crypto';

/** The stream of `CheckpointSealed` events; its own events are leaves of the next checkpoint like any other. */
export const CHECKPOINTS_STREAM = 'checkpoints';
export const CHECKPOINT_SEALED = 'CheckpointSealed';

export interface SealerLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface CheckpointSealerOptions {
  store: EventStore;
  /** Kept for a later advisory lock; the sealer reads and appends through the store. */
  databaseUrl?: string;
  keys: { signing: SigningKey };
  /** Seal once this many events (outside the checkpoints stream) are unsealed. */
  everyEvents: number;
  /** …or once this much time has passed since the last seal and at least one event is unsealed. */
  everyMs: number;
  logger: SealerLogger;
  /** Called after each checkpoint is appended (the witness publishers deliver it in the background). */
  onSealed?: (checkpoint: SealedCheckpoint) => void;
  /** How often to look for new events; defaults to min(everyMs, 1000). */
  pollMs?: number;
  /** Events read per query. */
  batchSize?: number;
  /** Clock, for tests. */
  now?: () => Date;
  /**
   * First positions of the events table's partitions (issue 13): a range never crosses one, so that every checkpoint
   * lies inside one partition and an archived partition takes whole checkpoints with it. Read after each batch of
   * events: a partition rolled after the read starts above every position read before it.
   */
  partitionStarts?: () => Promise<readonly bigint[]>;
}

interface OpenRange {
  /** The checkpoints stream's last revision, for expectedRevision (-1: no checkpoint yet). */
  checkpointRevision: number;
  previousCheckpointHash: string;
  fromPosition: bigint;
  /** The last position read into the tree (fromPosition - 1 when none). */
  lastPosition: bigint;
  tree: MerkleTreeBuilder;
  absent: [string, string][];
  /** Leaves outside the checkpoints stream: only they make a seal due. */
  pending: number;
  /** The next event starts a new partition: the range must be sealed as it is (when it holds any leaf). */
  atBoundary: boolean;
}

/**
 * The range reached a partition bound and holds something (events, or only positions absent for good): it must be
 * sealed as it is, so that no checkpoint crosses the bound and the sealer moves on past it.
 */
const closesPartition = (range: OpenRange) => range.atBoundary && (range.tree.count > 0 || range.absent.length > 0);

/**
 * Seals the global order into signed checkpoints (design invariant 4): every `everyEvents` events or `everyMs`,
 * whichever comes first, when there is something new, it appends a `CheckpointSealed` event to `checkpoints` covering
 * every position since the previous checkpoint. The append expects the checkpoints stream's revision, so two sealers
 * never fork the chain: the loser re-reads and carries on from the winner's checkpoint.
 */
export class CheckpointSealer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private range: OpenRange | undefined;
  private lastSealAt: number;
  private stopped = true;
  private readonly now: () => Date;

  constructor(private readonly options: CheckpointSealerOptions) {
    if (!Number.isInteger(options.everyEvents) || options.everyEvents < 1) {
      throw new RangeError(`everyEvents must be a positive integer, got ${options.everyEvents}`);
    }
    if (!(options.everyMs > 0)) throw new RangeError(`everyMs must be positive, got ${options.everyMs}`);
    this.now = options.now ?? (() => new Date());
    this.lastSealAt = this.now().getTime();
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const poll = this.options.pollMs ?? Math.min(this.options.everyMs, 1000);
    const tick = () => {
      let sealed = false;
      this.running = this.sealIfDue()
        .then((checkpoint) => (sealed = checkpoint !== null))
        .catch((error: unknown) => this.options.logger.error({ err: error }, 'checkpoint sealing failed'))
        .finally(() => {
          // After a seal, look again at once: under load the next range may be due already (one seal per poll
          // would let the unsealed tail grow without bound).
          if (!this.stopped) this.timer = setTimeout(tick, sealed ? 0 : poll);
        });
    };
    this.timer = setTimeout(tick, poll);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Reads what is new and seals when a checkpoint is due; returns the checkpoint sealed, if any. */
  async sealIfDue(): Promise<SealedCheckpoint | null> {
    const range = await this.openRange();
    await this.readInto(range, this.options.everyEvents);
    const due =
      closesPartition(range) ||
      range.pending >= this.options.everyEvents ||
      (range.pending > 0 && this.now().getTime() - this.lastSealAt >= this.options.everyMs);
    return due ? this.seal(range) : null;
  }

  /** Seals everything committed so far (when anything outside the checkpoints stream is unsealed). */
  async sealNow(): Promise<SealedCheckpoint | null> {
    const range = await this.openRange();
    await this.readInto(range, Number.POSITIVE_INFINITY);
    return range.pending > 0 || closesPartition(range) ? this.seal(range) : null;
  }

  private async openRange(): Promise<OpenRange> {
    if (this.range) return this.range;
    let last: { revision: number; checkpoint: SealedCheckpoint } | undefined;
    try {
      const [event] = await this.options.store.readStream(CHECKPOINTS_STREAM, { direction: 'backwards', maxCount: 1 });
      if (event) {
        const checkpoint = parseSealedCheckpoint(event.data);
        if (!checkpoint) {
          throw new Error(
            `the last checkpoint (position ${event.globalPosition}) is not a sealed checkpoint: run ledger verify`,
          );
        }
        last = { revision: event.streamRevision, checkpoint };
      }
    } catch (error) {
      if (!(error instanceof StreamNotFoundError)) throw error;
    }
    const fromPosition = last ? BigInt(last.checkpoint.toPosition) + 1n : 1n;
    this.range = {
      checkpointRevision: last?.revision ?? -1,
      previousCheckpointHash: last?.checkpoint.checkpointHash ?? GENESIS_CHECKPOINT_HASH,
      fromPosition,
      lastPosition: fromPosition - 1n,
      tree: new MerkleTreeBuilder(),
      absent: [],
      pending: 0,
      atBoundary: false,
    };
    return this.range;
  }

  /** Adds committed events after the range's last position to its tree, until `wanted` are pending. */
  private async readInto(range: OpenRange, wanted: number): Promise<void> {
    const batchSize = this.options.batchSize ?? 1000;
    while (range.pending < wanted && !range.atBoundary) {
      const events = await this.options.store.readAll({ fromPosition: range.lastPosition, maxCount: batchSize });
      if (events.length === 0) return;
      const boundary = await this.nextPartitionStart(range.fromPosition);
      for (const event of events) {
        if (boundary !== undefined && event.globalPosition >= boundary) {
          // Positions left before the boundary were handed out before the partition rolled: absent for good.
          if (boundary - 1n > range.lastPosition) {
            range.absent.push([String(range.lastPosition + 1n), String(boundary - 1n)]);
            range.lastPosition = boundary - 1n;
          }
          range.atBoundary = true;
          return;
        }
        // readAll never returns a position that a later commit could precede: a hole now is a hole for good.
        if (event.globalPosition > range.lastPosition + 1n) {
          range.absent.push([String(range.lastPosition + 1n), String(event.globalPosition - 1n)]);
        }
        range.tree.push(Buffer.from(event.hash, 'hex'));
        range.lastPosition = event.globalPosition;
        if (event.streamId !== CHECKPOINTS_STREAM) range.pending += 1;
        if (range.pending >= wanted) return;
      }
    }
  }

  /** The first position of the partition after the one holding `position` (undefined: none, or no partitions). */
  private async nextPartitionStart(position: bigint): Promise<bigint | undefined> {
    if (!this.options.partitionStarts) return undefined;
    let next: bigint | undefined;
    for (const start of await this.options.partitionStarts()) {
      if (start > position && (next === undefined || start < next)) next = start;
    }
    return next;
  }

  private async seal(range: OpenRange): Promise<SealedCheckpoint | null> {
    const checkpoint = sealCheckpoint(
      {
        fromPosition: String(range.fromPosition),
        toPosition: String(range.lastPosition),
        count: range.tree.count,
        merkleRoot: range.tree.root().toString('hex'),
        previousCheckpointHash: range.previousCheckpointHash,
        sealedAt: this.now().toISOString(),
        absent: range.absent,
      },
      this.options.keys.signing,
    );
    const eventId = randomUUID();
    const metadata = {
      actor: 'integrity-sealer',
      correlationId: eventId,
      recordedAt: checkpoint.sealedAt,
      schemaVersion: 1,
    };
    try {
      await this.options.store.appendToStream(
        CHECKPOINTS_STREAM,
        [{ eventId, type: CHECKPOINT_SEALED, data: { ...checkpoint }, metadata }],
        { expectedRevision: range.checkpointRevision < 0 ? 'no_stream' : range.checkpointRevision },
      );
    } catch (error) {
      this.range = undefined; // re-read the chain's head either way
      if (error instanceof WrongExpectedVersionError) {
        this.options.logger.info({ fromPosition: checkpoint.fromPosition }, 'another sealer sealed first');
        return null;
      }
      throw error;
    }
    this.range = undefined;
    this.lastSealAt = this.now().getTime();
    this.options.logger.info(
      { fromPosition: checkpoint.fromPosition, toPosition: checkpoint.toPosition, count: checkpoint.count },
      'checkpoint sealed',
    );
    this.options.onSealed?.(checkpoint);
    return checkpoint;
  }
}
