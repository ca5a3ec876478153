import { approvalStreamId, RECONCILER_VERSION } from '@audit-ledger/domain';
import type { EventStore, RecordedEvent, Subscription } from '@audit-ledger/event-store';
import type { Logger } from 'pino';
import type { AlertDispatcher } from '@audit-ledger/alerts';
import { deterministicEventId } from '../shared/event-ids.js';
import type { LeadershipStatus } from '../leadership/advisory-leadership.js';
import type { Clock } from '../shared/tokens.js';
import type { AskJudge } from './ask-judge.js';
import { OrderedLanes } from './ordered-lanes.js';
import type { ProcessCheckpoints } from './process-checkpoints.js';
import { StreamReadCache } from './stream-read-cache.js';
import {
  alertOf,
  decideAndAppend,
  readStreamOrEmpty,
  reconcileLoggedExecutions,
  reviseForLateRevocation,
  type WrittenVerdict,
} from './reconcile-execution.js';

const PROCESSOR_NAME = 'reconciliation';
/**
 * Executions of different streams are reconciled concurrently (appends are group-committed); one stream in order.
 * Most of an execution's time in flight is its verdict's append waiting for a group commit, so the processor keeps
 * up with at most this many over the append's latency: 64 made 640 verdicts a second when a commit took 100 ms on a
 * busy machine, below what the command path acknowledged, and the first alerts came seconds late (issue 14). The
 * verdicts waiting at once join the same group commits (at most the store's batch size each).
 */
const MAX_IN_FLIGHT = 1024;
const CHECKPOINT_EVERY_MS = 100;
/**
 * Every event of the streams it reconciles, verdicts included (only grants, executions and revocations are acted
 * on): each one extends the stream's StreamReadCache entry in order, so an execution is decided without reading its
 * stream even when a verdict (its own, an earlier execution's, another process's) was appended between two
 * executions. They come from the shared live feed, already read and parsed.
 */
const SUBSCRIBED_STREAMS = ['approval-', 'session-'];

export interface ReconciliationProcessorOptions {
  reconcilerVersion?: string;
  /** How often approvals past their expiry are checked for `approval_unused`. */
  unusedIntervalMs: number;
  alertOnUnclear: boolean;
  /** The LLM judge (bounded, never throws), when configured; absent: deterministic verdicts only (the default). */
  judge?: AskJudge;
}

export interface ReconciliationStatus {
  enabled: boolean;
  alive: boolean;
  /** Every subscribed event at or below this global position is handled (checkpointed within 100 ms). */
  position: string;
  reconcilerVersion: string;
  handled: number;
  appended: number;
  lastError?: string;
  lastErrorAt?: string;
  /**
   * One process at a time reconciles (docs/operations.md "Several processes"): `leader` runs the processor, `standby`
   * waits to take over and reports the rest of this status as not running. Absent when reconciliation is off.
   */
  leadership?: LeadershipStatus;
}

/**
 * The reconciliation process manager: a checkpointed subscription to the store (not an in-memory RxJS @Saga).
 * For each ExecutionLogged it reads the stream, runs the reconciliation decider and appends its verdict to the same
 * stream with a deterministic event id, so handling an event twice (after a crash, or a replay from 0) appends
 * nothing new. A timer appends `approval_unused` for approvals that expired with nothing run. Alerts are handed to
 * the dispatcher after an append that wrote something, and never awaited.
 */
export class ReconciliationProcessor {
  private subscription?: Subscription;
  private running?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private flushTimer?: NodeJS.Timeout;
  private checkingUnused?: Promise<void>;
  private stopped = false;
  private position = 0n;
  private handled = 0;
  private appended = 0;
  private lastError?: { message: string; at: string };
  private readonly reconcilerVersion: string;
  private wake?: () => void;
  private lanes?: OrderedLanes;
  private saved = 0n;
  private flushing?: Promise<void>;
  private readonly streams: StreamReadCache;
  /** Executions subscribed to but not reconciled yet, per stream: a lane takes all of its stream's at once. */
  private readonly waiting = new Map<string, RecordedEvent[]>();

  constructor(
    private readonly store: EventStore,
    private readonly checkpoints: ProcessCheckpoints,
    private readonly alerts: AlertDispatcher,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: ReconciliationProcessorOptions,
  ) {
    this.reconcilerVersion = options.reconcilerVersion ?? RECONCILER_VERSION;
    this.streams = new StreamReadCache(store);
  }

  async start(): Promise<void> {
    await this.checkpoints.ensureSchema();
    this.running = this.run();
    this.timer = setInterval(() => void this.checkUnusedApprovals(), this.options.unusedIntervalMs);
    this.timer.unref();
    this.flushTimer = setInterval(() => void this.flushCheckpoint(), CHECKPOINT_EVERY_MS);
    this.flushTimer.unref();
  }

  status(): ReconciliationStatus {
    return {
      enabled: true,
      alive: !this.stopped && Boolean(this.subscription?.isAlive),
      position: (this.lanes?.safePosition ?? this.position).toString(),
      reconcilerVersion: this.reconcilerVersion,
      handled: this.handled,
      appended: this.appended,
      ...(this.lastError ? { lastError: this.lastError.message, lastErrorAt: this.lastError.at } : {}),
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.flushTimer);
    this.wake?.();
    await this.subscription?.close();
    await this.running;
    await this.checkingUnused;
  }

  /** Subscribe from the checkpoint; on any failure, record it, wait (1 s doubling to 30 s) and resubscribe. */
  private async run(): Promise<void> {
    let backoff = 1_000;
    while (!this.stopped) {
      try {
        this.position = await this.checkpoints.load(PROCESSOR_NAME);
        this.saved = this.position;
        const subscription = this.store.subscribeToAll({
          fromPosition: this.position,
          filter: { streamPrefixes: SUBSCRIBED_STREAMS },
        });
        this.subscription = subscription;
        if (this.stopped) await subscription.close();
        const lanes = new OrderedLanes(this.position, MAX_IN_FLIGHT);
        this.lanes = lanes;
        this.waiting.clear();
        try {
          for await (const event of subscription) {
            if (event.type === 'ExecutionLogged') this.wait(event);
            await lanes.submit(event.streamId, event.globalPosition, async () => {
              await this.handle(event);
              this.handled++;
            });
            if (lanes.failed) throw lanes.failed.error;
            backoff = 1_000;
          }
        } finally {
          await lanes.drain();
          this.position = lanes.safePosition;
          await this.flushCheckpoint().catch(() => undefined);
        }
        if (lanes.failed) throw lanes.failed.error;
      } catch (error) {
        if (this.stopped) break;
        this.lastError = { message: String(error), at: this.clock.now().toISOString() };
        this.logger.error({ err: error, position: this.position.toString() }, 'reconciliation processor failed');
        await this.subscription?.close().catch(() => undefined);
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, backoff).unref();
        });
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
  }

  /** Records the safe position (everything at or below it is done); one save at a time, never backwards. */
  private async flushCheckpoint(): Promise<void> {
    await this.flushing;
    const safe = this.lanes?.safePosition ?? this.position;
    if (safe <= this.saved) return;
    this.flushing = this.checkpoints.save(PROCESSOR_NAME, safe).then(
      () => {
        this.saved = safe;
      },
      (error: unknown) => {
        this.logger.warn({ err: error }, 'reconciliation checkpoint not saved; retried');
      },
    );
    await this.flushing;
  }

  private async handle(event: RecordedEvent): Promise<void> {
    this.streams.seen(event);
    switch (event.type) {
      case 'ApprovalGranted': {
        const expiresAt = event.data.expiresAt;
        if (typeof expiresAt === 'string') {
          await this.checkpoints.addPendingExpiry(event.streamId, String(event.data.approvalId), expiresAt);
        }
        return;
      }
      case 'ExecutionLogged':
        return this.reconcileWaiting(event);
      case 'ApprovalRevoked':
        return this.reviseForLateRevocation(event);
      default:
        return; // rejections: read from the stream when an execution or the timer needs them
    }
  }

  private wait(logged: RecordedEvent): void {
    const queue = this.waiting.get(logged.streamId);
    if (queue) queue.push(logged);
    else this.waiting.set(logged.streamId, [logged]);
  }

  /**
   * Runs in the execution's lane (its stream's earlier work is done). Reconciles it together with the executions of
   * the same stream that queued up behind it while the lane was busy (their own turns then find nothing to do), so
   * a catch-up appends a stream's verdicts in one commit instead of one each. Their positions are only marked done
   * when their own turns come, after this one, so the checkpoint never passes an unfinished execution.
   */
  private async reconcileWaiting(logged: RecordedEvent): Promise<void> {
    const queue = this.waiting.get(logged.streamId);
    if (!queue?.includes(logged)) return; // reconciled with an earlier execution of its stream
    this.waiting.delete(logged.streamId);
    for (const queued of queue) this.streams.seen(queued); // delivered, in stream order: decided without a read
    const now = this.clock.now();
    const written = await reconcileLoggedExecutions(this.store, queue, {
      reconcilerVersion: this.reconcilerVersion,
      now: now.toISOString(),
      read: (streamId, throughRevision) => this.streams.read(streamId, throughRevision),
      onAppended: (streamId, events) => this.streams.appended(streamId, events, now),
      fold: (streamId, recorded) => this.streams.fold(streamId, recorded),
      lifecycleBefore: (streamId, recorded, revision) => this.streams.lifecycleBefore(streamId, recorded, revision),
      ...(this.options.judge ? { judge: this.options.judge } : {}),
    });
    this.published(written);
  }

  /**
   * Runs in the revocation's lane (the executions recorded before it are reconciled): those it covers by when it
   * happened, answered MATCH or UNCLEAR, become `approval_revoked`. Usually none: a revocation is normally recorded
   * before the executions it covers, and those are judged with it.
   */
  private async reviseForLateRevocation(revocation: RecordedEvent): Promise<void> {
    const now = this.clock.now();
    const written = await reviseForLateRevocation(this.store, revocation, {
      reconcilerVersion: this.reconcilerVersion,
      now: now.toISOString(),
      read: (streamId, throughRevision) => this.streams.read(streamId, throughRevision),
      onAppended: (streamId, events) => this.streams.appended(streamId, events, now),
      fold: (streamId, recorded) => this.streams.fold(streamId, recorded),
    });
    this.published(written);
  }

  /** Logs and alerts what an append wrote (a replayed append wrote nothing: it was alerted the first time). */
  private published(written: WrittenVerdict[]): void {
    this.appended += written.length;
    for (const verdict of written) {
      this.logger.info(
        {
          streamId: verdict.streamId,
          type: verdict.event.type,
          eventId: verdict.eventId,
          position: verdict.globalPosition.toString(),
        },
        'reconciliation verdict appended',
      );
      const alert = alertOf(verdict, this.options.alertOnUnclear);
      if (alert) this.alerts.publish(alert);
    }
  }

  /** One timer tick: every approval past its expiry is decided once, then leaves the pending table. */
  private async checkUnusedApprovals(): Promise<void> {
    if (this.checkingUnused || this.stopped) return;
    this.checkingUnused = (async () => {
      try {
        const now = this.clock.now();
        for (const due of await this.checkpoints.dueExpiries(now, 500)) {
          if (this.stopped) return;
          const recorded = await readStreamOrEmpty(this.store, due.streamId);
          const key = ['approval_unused', due.approvalId, this.reconcilerVersion];
          const written = await decideAndAppend(
            this.store,
            due.streamId,
            recorded,
            {
              type: 'CheckApprovalUsage',
              approvalId: due.approvalId,
              now: now.toISOString(),
              reconcilerVersion: this.reconcilerVersion,
              mismatchId: deterministicEventId(approvalStreamId(due.approvalId), 'MismatchDetected', ...key),
            },
            { idempotencyKey: key, now: now.toISOString() },
          );
          this.published(written);
          await this.checkpoints.removePendingExpiry(due.streamId);
        }
      } catch (error) {
        this.lastError = { message: String(error), at: this.clock.now().toISOString() };
        this.logger.error({ err: error }, 'approval_unused check failed; retried at the next tick');
      } finally {
        this.checkingUnused = undefined;
      }
    })();
    await this.checkingUnused;
  }
}
