import type { CommandAck } from '@audit-ledger/domain';
import type { AppendResult, RecordedEvent } from '@audit-ledger/event-store';

export function ackFromAppend(result: AppendResult): CommandAck {
  const event = result.events[0];
  if (!event) throw new Error(`Append to ${result.streamId} returned no event`);
  return {
    eventId: event.eventId,
    streamId: result.streamId,
    streamRevision: event.streamRevision,
    globalPosition: event.globalPosition.toString(),
    hash: event.hash,
    duplicate: result.idempotentReplay,
  };
}

export function ackFromRecorded(event: RecordedEvent): CommandAck {
  return {
    eventId: event.eventId,
    streamId: event.streamId,
    streamRevision: event.streamRevision,
    globalPosition: event.globalPosition.toString(),
    hash: event.hash,
    duplicate: true,
  };
}
