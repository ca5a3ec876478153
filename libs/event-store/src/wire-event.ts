import type { RecordedEvent } from './event-store.port.js';

/** An event as the HTTP API returns it (positions as decimal strings, times ISO 8601). */
export function toWireEvent(event: RecordedEvent) {
  return {
    eventId: event.eventId,
    type: event.type,
    streamId: event.streamId,
    streamRevision: event.streamRevision,
    globalPosition: event.globalPosition.toString(),
    data: event.data,
    metadata: event.metadata,
    prevHash: event.prevHash,
    hash: event.hash,
    recordedAt: event.recordedAt.toISOString(),
  };
}
