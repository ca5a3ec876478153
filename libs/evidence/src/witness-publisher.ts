import { StreamNotFoundError, type EventStore, type RecordedEvent } from '@audit-ledger/event-store';
import { parseSealedCheckpoint, type WitnessHead } from '@audit-ledger/integrity';
import { CHECKPOINTS_STREAM, type SealerLogger } from './checkpoint-sealer.js';
import { checkpointEndingAt, newestCheckpoint } from './database-checkpoints.js';
import { WitnessRefusedError, type Witness } from './witness.js';

/** What `/health` and `GET /v1/integrity` say about a witness. */
export interface WitnessStatus {
  kind: 'file' | 'http';
  target: string;
  /**
   * ok: every checkpoint sealed so far was delivered; pending: delivering; failing: the last attempt failed, retrying
   * with backoff; refused: the witness's head is not a checkpoint of this database (or it refused one): nothing more
   * is sent until an operator acts (docs/integrity.md §5).
   */
  status: 'pending' | 'ok' | 'failing' | 'refused';
  /** The last checkpoint the witness confirmed. */
  confirmed: WitnessHead | null;
  consecutiveFailures: number;
  lastError: string | null;
  lastErrorAt: string | null;
}

export interface WitnessPublisherOptions {
  store: EventStore;
  witness: Witness;
  logger: SealerLogger;
  /** First retry delay; it doubles per failure up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

const BATCH = 100;

/**
 * Delivers the database's checkpoints to one witness, in order, in the background: the sealer only calls notify(),
 * so appends never wait for a witness. Each round starts where the witness stands (its head, looked up in the
 * database once) and sends every later checkpoint of the `checkpoints` stream; a witness that was down catches up
 * from the database. Failures are retried with exponential backoff and reported in status(). A witness whose head is
 * not a checkpoint of this database is never sent anything (that would fork it): status `refused`.
 */
export class WitnessPublisher {
  private dirty = false;
  private loop: Promise<void> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  /** The revision of the checkpoints stream that the witness holds last; undefined: not known yet. */
  private confirmedRevision: number | undefined;
  private readonly state: WitnessStatus;

  constructor(private readonly options: WitnessPublisherOptions) {
    this.state = {
      kind: options.witness.kind,
      target: options.witness.target,
      status: 'pending',
      confirmed: null,
      consecutiveFailures: 0,
      lastError: null,
      lastErrorAt: null,
    };
  }

  status(): WitnessStatus {
    return { ...this.state };
  }

  /** A checkpoint was sealed (or the ledger started): deliver what the witness lacks. */
  notify(): void {
    if (this.stopped || this.state.status === 'refused') return;
    this.dirty = true;
    this.wake?.();
    this.loop ??= this.run().finally(() => (this.loop = undefined));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    this.options.witness.close?.();
    await this.loop;
  }

  /** Delivers until nothing is pending; for tests and shutdown. */
  async flush(): Promise<void> {
    this.notify();
    while (this.loop) await this.loop;
  }

  private async run(): Promise<void> {
    while (this.dirty && !this.stopped) {
      this.dirty = false;
      try {
        await this.deliver();
        this.state.status = 'ok';
        this.state.consecutiveFailures = 0;
      } catch (error) {
        if (this.stopped) return; // aborted by stop(): the next start catches the witness up
        const message = error instanceof Error ? error.message : String(error);
        this.state.lastError = message;
        this.state.lastErrorAt = new Date().toISOString();
        this.state.consecutiveFailures += 1;
        if (error instanceof WitnessRefusedError) {
          this.state.status = 'refused';
          this.options.logger.error(
            { witness: this.state.target, err: error },
            "the witness refused the ledger's checkpoints: nothing more is sent to it (docs/integrity.md §5)",
          );
          return;
        }
        this.state.status = 'failing';
        const { backoffMs = 500, maxBackoffMs = 30_000 } = this.options;
        const delay = Math.min(maxBackoffMs, backoffMs * 2 ** Math.min(this.state.consecutiveFailures - 1, 20));
        this.options.logger.warn(
          { witness: this.state.target, err: error, attempt: this.state.consecutiveFailures, retryInMs: delay },
          'delivering checkpoints to the witness failed; retrying',
        );
        this.dirty = true;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }

  private async deliver(): Promise<void> {
    const { store, witness } = this.options;
    let revision = this.confirmedRevision ?? (await this.locateWitnessHead());
    this.confirmedRevision = revision;
    for (;;) {
      const events: RecordedEvent[] = await store
        .readStream(CHECKPOINTS_STREAM, { fromRevision: revision + 1, maxCount: BATCH })
        .catch((error: unknown) => {
          if (error instanceof StreamNotFoundError) return [];
          throw error;
        });
      for (const event of events) {
        const checkpoint = parseSealedCheckpoint(event.data);
        if (!checkpoint)
          throw new Error(`checkpoint at position ${event.globalPosition} is malformed: run ledger verify`);
        try {
          await witness.append(checkpoint);
        } catch (error) {
          // Someone else may have moved the witness (another ledger instance): look where it stands next time.
          if (error instanceof WitnessRefusedError) this.confirmedRevision = undefined;
          throw error instanceof WitnessRefusedError ? new Error(error.message) : error;
        }
        revision = event.streamRevision;
        this.confirmedRevision = revision;
        this.state.confirmed = { checkpointHash: checkpoint.checkpointHash, toPosition: checkpoint.toPosition };
      }
      if (events.length < BATCH) return;
    }
  }

  /** The revision of the database's checkpoint that is the witness's head (-1: the witness is empty or at genesis). */
  private async locateWitnessHead(): Promise<number> {
    const { head } = await this.options.witness.latest();
    this.state.confirmed = head;
    if (head === null || head.toPosition === '0') return -1;
    const newest = await newestCheckpoint(this.options.store);
    const at = await checkpointEndingAt(this.options.store, BigInt(head.toPosition), newest);
    if (at && at !== 'archived' && at.head.checkpointHash === head.checkpointHash) return at.revision;
    if (at === 'archived') {
      throw new WitnessRefusedError(
        `the witness ${this.options.witness.target} holds checkpoints up to position ${head.toPosition}, in a range ` +
          'archived and dropped: the database no longer holds the checkpoints that would bring it up to date',
      );
    }
    throw new WitnessRefusedError(
      `the witness ${this.options.witness.target} holds checkpoint ${head.checkpointHash} (up to position ` +
        `${head.toPosition}), which this database does not have: sending this database's checkpoints would fork it`,
    );
  }
}

/** The status of every configured witness, for `/health` and `GET /v1/integrity`. */
export const WITNESS_STATUS = Symbol('WITNESS_STATUS');
export type WitnessStatusProbe = () => WitnessStatus[];
