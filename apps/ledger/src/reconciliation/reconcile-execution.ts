import {
  isApprovalStreamEventType,
  isReconciliationEventType,
  reconciliationDecider,
  type ExecutionLoggedData,
  type ReconciliationCommand,
  type ReconciliationEvent,
  type ReconciliationState,
  type StreamEvent,
} from '@audit-ledger/domain';
import { StreamNotFoundError, type EventStore, type RecordedEvent } from '@audit-ledger/event-store';
import { alertSummary, type Alert } from '../alerts/alert-sink.port.js';
import { deterministicEventId } from '../shared/event-ids.js';

export const RECONCILIATION_ACTOR = 'process:reconciliation';

/** The events the reconciliation decider folds; anything else in the stream is skipped. */
export function toStreamEvent(event: RecordedEvent): StreamEvent | undefined {
  if (isApprovalStreamEventType(event.type) || isReconciliationEventType(event.type)) {
    return { type: event.type, data: event.data } as unknown as StreamEvent;
  }
  return undefined;
}

export function foldStream(streamId: string, recorded: readonly RecordedEvent[]): ReconciliationState {
  return recorded
    .map(toStreamEvent)
    .reduce<ReconciliationState>(
      (s, e) => (e ? reconciliationDecider.evolve(s, e) : s),
      reconciliationDecider.initialState(streamId.startsWith('session-') ? 'session' : 'approval'),
    );
}

export async function readStreamOrEmpty(store: EventStore, streamId: string): Promise<RecordedEvent[]> {
  try {
    return await store.readStream(streamId);
  } catch (error) {
    if (error instanceof StreamNotFoundError) return [];
    throw error;
  }
}

export interface WrittenVerdict {
  event: ReconciliationEvent;
  streamId: string;
  eventId: string;
  streamRevision: number;
  globalPosition: bigint;
  recordedAt: string;
}

/**
 * Fold, decide, append with `expectedRevision: 'any'`. Sound because the decision depends only on the events before
 * the execution and on the verdicts already recorded, and its event id only on (stream, type, key…): two processors
 * (or a replay) deciding the same thing write it once. Returns what this call wrote; `[]` when nothing was decided
 * or the store already held it (then it was alerted the first time).
 */
export async function decideAndAppend(
  store: EventStore,
  streamId: string,
  recorded: readonly RecordedEvent[],
  command: ReconciliationCommand,
  options: { causationId?: string; idempotencyKey: string[]; now: string },
): Promise<WrittenVerdict[]> {
  const decided = reconciliationDecider.decide(command, foldStream(streamId, recorded));
  if (decided.length === 0) return [];
  const newEvents = decided.map((event) => {
    const eventId = deterministicEventId(streamId, event.type, ...options.idempotencyKey);
    const data = event.data as { approvalId?: string; sessionId?: string };
    return {
      eventId,
      type: event.type,
      data: event.data as unknown as Record<string, unknown>,
      metadata: {
        correlationId: data.approvalId ?? data.sessionId ?? streamId.replace(/^(approval|session)-/, ''),
        causationId: options.causationId ?? eventId,
        recordedAt: options.now,
        actor: RECONCILIATION_ACTOR,
        schemaVersion: 1,
      },
    };
  });
  const result = await store.appendToStream(streamId, newEvents, { expectedRevision: 'any' });
  if (result.idempotentReplay) return [];
  return decided.map((event, i) => ({ event, streamId, recordedAt: options.now, ...result.events[i]! }));
}

/** Reconciles one recorded ExecutionLogged against the events before it in its stream. */
export async function reconcileLoggedExecution(
  store: EventStore,
  logged: RecordedEvent,
  options: {
    reconcilerVersion: string;
    now: string;
    onlyIfChanged?: boolean;
    /** How to read the stream (the processor passes its StreamReadCache); default: the whole stream from the store. */
    read?: (streamId: string) => Promise<RecordedEvent[]>;
  },
): Promise<WrittenVerdict[]> {
  const recorded = await (options.read ?? ((streamId: string) => store.readStream(streamId)))(logged.streamId);
  const execution = logged.data as unknown as ExecutionLoggedData;
  const history = recorded
    .filter((e) => e.streamRevision < logged.streamRevision)
    .map(toStreamEvent)
    .filter((e): e is StreamEvent => e !== undefined);
  const key = [execution.executionId, options.reconcilerVersion];
  return decideAndAppend(
    store,
    logged.streamId,
    recorded,
    {
      type: 'ReconcileExecution',
      execution,
      history,
      reconcilerVersion: options.reconcilerVersion,
      mismatchId: deterministicEventId(logged.streamId, 'MismatchDetected', ...key),
      ...(options.onlyIfChanged ? { onlyIfChanged: true } : {}),
    },
    { causationId: logged.eventId, idempotencyKey: key, now: options.now },
  );
}

/** The alert a written verdict raises: always for MismatchDetected, for ReconciliationUnclear when asked. */
export function alertOf(written: WrittenVerdict, alertOnUnclear: boolean): Alert | undefined {
  const { event, streamId } = written;
  const base = {
    alertId: written.eventId,
    streamId,
    streamRevision: written.streamRevision,
    globalPosition: written.globalPosition.toString(),
    recordedAt: written.recordedAt,
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
  if (event.type === 'ReconciliationUnclear' && alertOnUnclear) {
    return {
      ...base,
      type: 'ReconciliationUnclear',
      ...(event.data.kind ? { kind: event.data.kind } : {}),
      summary: alertSummary({ type: 'ReconciliationUnclear', streamId }, event.data.reason),
    };
  }
  return undefined;
}
