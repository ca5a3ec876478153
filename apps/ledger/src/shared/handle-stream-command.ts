import {
  approvalDecider,
  isApprovalStreamEventType,
  type ApprovalCommand,
  type ApprovalState,
  type ApprovalStreamEvent,
  type CommandAck,
} from '@audit-ledger/domain';
import {
  StreamNotFoundError,
  WrongExpectedVersionError,
  type EventStore,
  type RecordedEvent,
} from '@audit-ledger/event-store';
import { ackFromAppend, ackFromRecorded } from './command-ack.js';
import { deterministicEventId } from './event-ids.js';

export interface StreamCommandOptions {
  streamId: string;
  command: ApprovalCommand;
  /** The command's idempotency key: the same key always yields the same event id. */
  idempotencyKey: string;
  /** Recognises the event an earlier, identical command recorded (when the decider decides nothing). */
  isOriginal: (event: RecordedEvent) => boolean;
  actor: string;
  correlationId: string;
}

const MAX_ATTEMPTS = 8;

function fold(events: RecordedEvent[]): ApprovalState {
  let state = approvalDecider.initialState();
  for (const event of events) {
    if (isApprovalStreamEventType(event.type)) {
      state = approvalDecider.evolve(state, { type: event.type, data: event.data } as ApprovalStreamEvent);
    }
  }
  return state;
}

async function readAll(store: EventStore, streamId: string): Promise<RecordedEvent[]> {
  try {
    return await store.readStream(streamId);
  } catch (error) {
    if (error instanceof StreamNotFoundError) return [];
    throw error;
  }
}

/**
 * Read the stream, fold, decide, append with the revision that was read; on a concurrent write, do it again.
 * The generic glue between a transport and the approval decider: handlers only build the command.
 */
export async function handleStreamCommand(store: EventStore, options: StreamCommandOptions): Promise<CommandAck> {
  for (let attempt = 1; ; attempt++) {
    const recorded = await readAll(store, options.streamId);
    const events = approvalDecider.decide(options.command, fold(recorded));
    if (events.length === 0) {
      const original = recorded.find(options.isOriginal);
      if (!original) throw new Error(`No recorded event matches the retried command on ${options.streamId}`);
      return ackFromRecorded(original);
    }
    const last = recorded.at(-1);
    try {
      const result = await store.appendToStream(options.streamId, toNewEvents(events, options), {
        expectedRevision: last ? last.streamRevision : 'no_stream',
      });
      return ackFromAppend(result);
    } catch (error) {
      if (error instanceof WrongExpectedVersionError && attempt < MAX_ATTEMPTS) continue;
      throw error;
    }
  }
}

/**
 * Executions skip the read: the decider records every execution whatever the stream holds, and its one refusal
 * (a known executionId) is exactly the store's event-id idempotency. So append with `any` and let the store answer
 * retries with the original result.
 */
export async function appendExecution(store: EventStore, options: StreamCommandOptions): Promise<CommandAck> {
  const events = approvalDecider.decide(options.command, approvalDecider.initialState());
  const result = await store.appendToStream(options.streamId, toNewEvents(events, options), {
    expectedRevision: 'any',
  });
  return ackFromAppend(result);
}

function toNewEvents(events: ApprovalStreamEvent[], options: StreamCommandOptions) {
  return events.map((event) => {
    const eventId = deterministicEventId(options.streamId, event.type, options.idempotencyKey);
    return {
      eventId,
      type: event.type,
      data: event.data as unknown as Record<string, unknown>,
      metadata: {
        correlationId: options.correlationId,
        causationId: eventId,
        recordedAt: options.command.now,
        actor: options.actor,
        schemaVersion: 1,
      },
    };
  });
}
