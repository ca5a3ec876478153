import {
  approvalStreamId,
  isApprovalStreamEventType,
  isReconciliationEventType,
  RECONCILER_VERSION,
  reconciliationDecider,
  type ExecutionLoggedData,
  type ReconciliationCommand,
  type ReconciliationEvent,
  type ReconciliationState,
  type StreamEvent,
} from '@audit-ledger/domain';
import { StreamNotFoundError, type EventStore, type RecordedEvent, type Subscription } from '@audit-ledger/event-store';
import type { Logger } from 'pino';
import { alertSummary, type Alert } from '../alerts/alert-sink.port.js';
import type { AlertDispatcher } from '../alerts/alert-dispatcher.js';
import { deterministicEventId } from '../shared/event-ids.js';
import type { Clock } from '../shared/tokens.js';
import type { ProcessCheckpoints } from './process-checkpoints.js';

export const PROCESSOR_NAME = 'reconciliation';
const ACTOR = 'process:reconciliation';
const SUBSCRIBED_TYPES = ['ApprovalGranted', 'ApprovalRejected', 'ApprovalRevoked', 'ExecutionLogged'];

export interface ReconciliationProcessorOptions {
  reconcilerVersion?: string;
  /** How often approvals past their expiry are checked for `approval_unused`. */
  unusedIntervalMs: number;
  alertOnUnclear: boolean;
}

export interface ReconciliationStatus {
  enabled: boolean;
  alive: boolean;
  /** Last global position handled and checkpointed. */
  position: string;
  reconcilerVersion: string;
  handled: number;
  appended: number;
  lastError?: string;
  lastErrorAt?: string;
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
  private checkingUnused?: Promise<void>;
  private stopped = false;
  private position = 0n;
  private handled = 0;
  private appended = 0;
  private lastError?: { message: string; at: string };
  private readonly reconcilerVersion: string;
  private wake?: () => void;

  constructor(
    private readonly store: EventStore,
    private readonly checkpoints: ProcessCheckpoints,
    private readonly alerts: AlertDispatcher,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: ReconciliationProcessorOptions,
  ) {
    this.reconcilerVersion = options.reconcilerVersion ?? RECONCILER_VERSION;
  }

  async start(): Promise<void> {
    await this.checkpoints.ensureSchema();
    this.running = this.run();
    this.timer = setInterval(() => void this.checkUnusedApprovals(), this.options.unusedIntervalMs);
    this.timer.unref();
  }

  status(): ReconciliationStatus {
    return {
      enabled: true,
      alive: !this.stopped && Boolean(this.subscription?.isAlive),
      position: this.position.toString(),
      reconcilerVersion: this.reconcilerVersion,
      handled: this.handled,
      appended: this.appended,
      ...(this.lastError ? { lastError: this.lastError.message, lastErrorAt: this.lastError.at } : {}),
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
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
        const subscription = this.store.subscribeToAll({
          fromPosition: this.position,
          filter: { eventTypes: SUBSCRIBED_TYPES, streamPrefixes: ['approval-', 'session-'] },
        });
        this.subscription = subscription;
        if (this.stopped) await subscription.close();
        for await (const event of subscription) {
          await this.handle(event);
          await this.checkpoints.save(PROCESSOR_NAME, event.globalPosition);
          this.position = event.globalPosition;
          this.handled++;
          backoff = 1_000;
        }
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

  private async handle(event: RecordedEvent): Promise<void> {
    switch (event.type) {
      case 'ApprovalGranted': {
        const expiresAt = event.data.expiresAt;
        if (typeof expiresAt === 'string') {
          await this.checkpoints.addPendingExpiry(event.streamId, String(event.data.approvalId), expiresAt);
        }
        return;
      }
      case 'ExecutionLogged':
        return this.reconcileExecution(event);
      default:
        return; // rejections and revocations: read from the stream when an execution or the timer needs them
    }
  }

  private async reconcileExecution(logged: RecordedEvent): Promise<void> {
    const recorded = await this.store.readStream(logged.streamId);
    const events = recorded.map(toStreamEvent);
    const execution = logged.data as unknown as ExecutionLoggedData;
    const history = events.filter(
      (e, i): e is StreamEvent => e !== undefined && recorded[i]!.streamRevision < logged.streamRevision,
    );
    await this.decideAndAppend(
      logged.streamId,
      events,
      {
        type: 'ReconcileExecution',
        execution,
        history,
        reconcilerVersion: this.reconcilerVersion,
        mismatchId: deterministicEventId(
          logged.streamId,
          'MismatchDetected',
          execution.executionId,
          this.reconcilerVersion,
        ),
      },
      logged.eventId,
      [execution.executionId, this.reconcilerVersion],
    );
  }

  /** One timer tick: every approval past its expiry is decided once, then leaves the pending table. */
  private async checkUnusedApprovals(): Promise<void> {
    if (this.checkingUnused || this.stopped) return;
    this.checkingUnused = (async () => {
      try {
        const now = this.clock.now();
        for (const due of await this.checkpoints.dueExpiries(now, 500)) {
          if (this.stopped) return;
          const recorded = await this.readStream(due.streamId);
          await this.decideAndAppend(
            due.streamId,
            recorded.map(toStreamEvent),
            {
              type: 'CheckApprovalUsage',
              approvalId: due.approvalId,
              now: now.toISOString(),
              reconcilerVersion: this.reconcilerVersion,
              mismatchId: this.unusedMismatchId(due.approvalId),
            },
            undefined,
            ['approval_unused', due.approvalId, this.reconcilerVersion],
          );
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

  private unusedMismatchId(approvalId: string): string {
    return deterministicEventId(
      approvalStreamId(approvalId),
      'MismatchDetected',
      'approval_unused',
      approvalId,
      this.reconcilerVersion,
    );
  }

  private async readStream(streamId: string): Promise<RecordedEvent[]> {
    try {
      return await this.store.readStream(streamId);
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    }
  }

  /**
   * Fold, decide, append with `expectedRevision: 'any'`: the decision depends only on the events before the
   * execution and on the verdicts already recorded, and its event id is derived from (stream, type, key…), so two
   * processors (or a replay) deciding the same thing write it once.
   */
  private async decideAndAppend(
    streamId: string,
    events: (StreamEvent | undefined)[],
    command: ReconciliationCommand,
    causationId: string | undefined,
    idempotencyKey: string[],
  ): Promise<void> {
    const state = events.reduce<ReconciliationState>(
      (s, e) => (e ? reconciliationDecider.evolve(s, e) : s),
      reconciliationDecider.initialState(streamId.startsWith('session-') ? 'session' : 'approval'),
    );
    const decided = reconciliationDecider.decide(command, state);
    if (decided.length === 0) return;
    const now = this.clock.now().toISOString();
    const newEvents = decided.map((event) => {
      const eventId = deterministicEventId(streamId, event.type, ...idempotencyKey);
      return {
        eventId,
        type: event.type,
        data: event.data as unknown as Record<string, unknown>,
        metadata: {
          correlationId: correlationOf(event, streamId),
          causationId: causationId ?? eventId,
          recordedAt: now,
          actor: ACTOR,
          schemaVersion: 1,
        },
      };
    });
    const result = await this.store.appendToStream(streamId, newEvents, { expectedRevision: 'any' });
    if (result.idempotentReplay) return; // written before (a replay or a second processor): alerted then
    this.appended += newEvents.length;
    decided.forEach((event, i) => {
      const written = result.events[i]!;
      this.logger.info(
        { streamId, type: event.type, eventId: written.eventId, position: written.globalPosition.toString() },
        'reconciliation verdict appended',
      );
      const alert = this.alertOf(event, streamId, written, now);
      if (alert) this.alerts.publish(alert);
    });
  }

  private alertOf(
    event: ReconciliationEvent,
    streamId: string,
    written: { eventId: string; streamRevision: number; globalPosition: bigint },
    recordedAt: string,
  ): Alert | undefined {
    const base = {
      alertId: written.eventId,
      streamId,
      streamRevision: written.streamRevision,
      globalPosition: written.globalPosition.toString(),
      recordedAt,
      data: event.data as unknown as Record<string, unknown>,
    };
    if (event.type === 'MismatchDetected') {
      const { kind, severity, explanation } = event.data;
      return {
        ...base,
        type: 'MismatchDetected',
        kind,
        severity,
        summary: alertSummary({ type: 'MismatchDetected', kind, severity, streamId }, explanation),
      };
    }
    if (event.type === 'ReconciliationUnclear' && this.options.alertOnUnclear) {
      return {
        ...base,
        type: 'ReconciliationUnclear',
        ...(event.data.kind ? { kind: event.data.kind } : {}),
        summary: alertSummary({ type: 'ReconciliationUnclear', streamId }, event.data.reason),
      };
    }
    return undefined;
  }
}

function correlationOf(event: ReconciliationEvent, streamId: string): string {
  const data = event.data as { approvalId?: string; sessionId?: string };
  return data.approvalId ?? data.sessionId ?? streamId.replace(/^(approval|session)-/, '');
}

/** The events the reconciliation decider folds; anything else in the stream is skipped. */
export function toStreamEvent(event: RecordedEvent): StreamEvent | undefined {
  if (isApprovalStreamEventType(event.type) || isReconciliationEventType(event.type)) {
    return { type: event.type, data: event.data } as unknown as StreamEvent;
  }
  return undefined;
}
