import {
  approvalDecider,
  isApprovalStreamEventType,
  type ApprovalCommand,
  type ApprovalState,
  type ApprovalStreamEvent,
  type CommandAck,
} from '@audit-ledger/domain';
import {
  contentDifferences,
  handleDeciderCommand,
  IdempotencyConflictError,
  type EventStore,
  type RecordedEvent,
} from '@audit-ledger/event-store';
import { ackFromAppend, ackFromRecorded } from './command-ack.js';
import { deterministicEventId, executionEventId, legacyExecutionEventId } from './event-ids.js';
import { inSpan, rememberAppend } from '../tracing/spans.js';

export interface StreamCommandOptions {
  streamId: string;
  command: ApprovalCommand;
  /** The command's idempotency key: the same key always yields the same event id. */
  idempotencyKey: string;
  /** Recognises the event an earlier, identical command recorded (when the decider decides nothing). */
  isOriginal: (event: RecordedEvent) => boolean;
  /**
   * Data paths the ledger derives on receipt (the decision's time, capped output, token HMAC): a retry is compared
   * with the original on their presence only. Any other difference is an IdempotencyConflictError.
   */
  derivedPaths: readonly string[];
  /** The data field the decider stamps with the command's time (`grantedAt`): not part of a retry's content. */
  decidedAtField?: string;
  /** Values of fields an original recorded before they existed reads as (`approverVerified: false`). */
  storedDefaults?: Readonly<Record<string, unknown>>;
  actor: string;
  correlationId: string;
  /** The call's request id (CurrentRequestId), written into the new events' metadata. */
  requestId?: string;
  /** More metadata for the new events (which redaction rules fired: `redactions`). Never compared by a retry. */
  metadata?: Readonly<Record<string, unknown>>;
}

/**
 * Paths of a decision compared on presence only by a retry: `occurredAt` is the receive time when the gateway sent
 * none, so a retry has another; the first recorded time stays.
 */
export const DECISION_DERIVED_PATHS: readonly string[] = ['occurredAt'];

function fold(events: readonly RecordedEvent[]): ApprovalState {
  let state = approvalDecider.initialState();
  for (const event of events) {
    if (isApprovalStreamEventType(event.type)) {
      state = approvalDecider.evolve(state, { type: event.type, data: event.data } as ApprovalStreamEvent);
    }
  }
  return state;
}

/**
 * Read the stream, fold, decide, append with the revision that was read; on a concurrent write, do it again under the
 * one conflict retry policy (handleDeciderCommand, libs/event-store). The glue between a transport and the approval
 * decider: handlers only build the command.
 */
export async function handleStreamCommand(store: EventStore, options: StreamCommandOptions): Promise<CommandAck> {
  return inSpan(`command ${options.command.type}`, commandAttributes(options), () => decideAndAppend(store, options));
}

async function decideAndAppend(store: EventStore, options: StreamCommandOptions): Promise<CommandAck> {
  return handleDeciderCommand(store, {
    streamId: options.streamId,
    fold,
    decide: (state) => approvalDecider.decide(options.command, state),
    whenNothingDecided: (recorded) => {
      const original = recorded.find(options.isOriginal);
      if (!original) throw new Error(`No recorded event matches the retried command on ${options.streamId}`);
      const conflict = conflictWithOriginal(original, options);
      if (conflict) throw conflict;
      return ackFromRecorded(original);
    },
    append: async (events, expectedRevision) =>
      ackFromAppend(await tracedAppend(store, options, toNewEvents(events, options), { expectedRevision })),
  });
}

/**
 * Executions skip the read: the decider records every execution whatever the stream holds, and its one refusal
 * (a known executionId) is exactly the store's event-id idempotency. So append with `any` and let the store answer
 * retries with the original result. The event id depends on the execution id alone (executionEventId): the same id
 * under another approval or session is a conflict with the stored execution, in whichever stream it is.
 */
export async function appendExecution(store: EventStore, options: StreamCommandOptions): Promise<CommandAck> {
  return inSpan(`command ${options.command.type}`, commandAttributes(options), () =>
    appendDecidedExecution(store, options),
  );
}

async function appendDecidedExecution(store: EventStore, options: StreamCommandOptions): Promise<CommandAck> {
  const events = approvalDecider.decide(options.command, approvalDecider.initialState());
  try {
    const result = await tracedAppend(store, options, toNewEvents(events, options), {
      expectedRevision: 'any',
      derivedPaths: options.derivedPaths,
    });
    return ackFromAppend(result);
  } catch (error) {
    if (!(error instanceof IdempotencyConflictError)) throw error;
    const recordedBefore = await recordedBeforeOccurrenceTimes(store, error);
    if (recordedBefore) return ackFromRecorded(recordedBefore);
    throw error.withIdempotencyKey(options.idempotencyKey);
  }
}

/**
 * An execution recorded before commands carried `occurredAt` differs from its retry only by the time the retry now
 * carries (or is given): that is the same execution, answered as a replay of the stored event.
 */
async function recordedBeforeOccurrenceTimes(
  store: EventStore,
  conflict: IdempotencyConflictError,
): Promise<RecordedEvent | undefined> {
  const details = conflict.details;
  if (!details || details.differences.length !== 1 || details.differences[0] !== 'occurredAt') return undefined;
  const [stored] = await store.readStream(details.stored.streamId, {
    fromRevision: details.stored.streamRevision,
    maxCount: 1,
  });
  if (stored?.eventId !== details.stored.eventId || stored.data['occurredAt'] !== undefined) return undefined;
  return stored;
}

/**
 * The decider answered "already decided this way" by status; the content must match too. The command's data is what
 * the event would hold but for the decision's time, so it is compared with the stored data, the time taken from the
 * original and derived paths compared on presence.
 */
function conflictWithOriginal(
  original: RecordedEvent,
  options: StreamCommandOptions,
): IdempotencyConflictError | undefined {
  const field = options.decidedAtField;
  const proposed: Record<string, unknown> =
    field === undefined ? { ...options.command.data } : { ...options.command.data, [field]: original.data[field] };
  // Recorded before decisions carried their occurrence time: a retry's (maybe defaulted) time is not a difference.
  if (original.data['occurredAt'] === undefined) delete proposed['occurredAt'];
  const stored = { ...options.storedDefaults, ...original.data };
  const differences = contentDifferences(stored, proposed, options.derivedPaths);
  if (differences.length === 0) return undefined;
  return IdempotencyConflictError.ofDifferentContent(options.streamId, {
    idempotencyKey: options.idempotencyKey,
    eventId: original.eventId,
    stored: {
      eventId: original.eventId,
      streamId: original.streamId,
      streamRevision: original.streamRevision,
      globalPosition: original.globalPosition.toString(),
      type: original.type,
    },
    differences,
  });
}

function toNewEvents(events: readonly ApprovalStreamEvent[], options: StreamCommandOptions) {
  const requestId = options.requestId;
  return events.map((event) => {
    const execution = event.type === 'ExecutionLogged';
    const eventId = execution
      ? executionEventId(options.idempotencyKey)
      : deterministicEventId(options.streamId, event.type, options.idempotencyKey);
    return {
      eventId,
      // An execution recorded before its id became stream-independent is found under its old id.
      ...(execution ? { aliasEventIds: [legacyExecutionEventId(options.streamId, options.idempotencyKey)] } : {}),
      type: event.type,
      data: event.data as unknown as Record<string, unknown>,
      metadata: {
        correlationId: options.correlationId,
        causationId: eventId,
        recordedAt: options.command.now,
        actor: options.actor,
        schemaVersion: 1,
        ...(requestId ? { requestId } : {}),
        ...options.metadata,
      },
    };
  });
}

function commandAttributes(options: StreamCommandOptions) {
  return {
    'ledger.stream_id': options.streamId,
    'ledger.correlation_id': options.correlationId,
    'ledger.idempotency_key': options.idempotencyKey,
  };
}

/** The durable append (its span ends when the store acknowledged the commit), remembered for the work it causes. */
function tracedAppend(
  store: EventStore,
  options: StreamCommandOptions,
  events: ReturnType<typeof toNewEvents>,
  appendOptions: Parameters<EventStore['appendToStream']>[2],
) {
  return inSpan(
    'eventstore.append',
    {
      'ledger.stream_id': options.streamId,
      'ledger.correlation_id': options.correlationId,
      'ledger.events': events.length,
    },
    async (span) => {
      const result = await store.appendToStream(options.streamId, events, appendOptions);
      span.setAttribute('ledger.global_position', result.lastPosition.toString());
      rememberAppend(result.events.map((event) => event.eventId));
      return result;
    },
  );
}
