import { StreamNotFoundError, type EventStore, type RecordedEvent } from '@audit-ledger/event-store';

/**
 * The processor decides each execution against its whole stream. Reading the stream again for every execution made
 * reconciliation quadratic in a stream's length and, under load, starved the append path; this cache keeps the
 * streams recently worked on and reads only the revisions it has not seen yet. Revisions are contiguous from 0, so
 * the cached prefix of a stream never changes. Callers handle one stream at a time (the processor's lanes).
 */
export class StreamReadCache {
  private readonly streams = new Map<string, RecordedEvent[]>();

  constructor(
    private readonly store: EventStore,
    private readonly maxStreams = 1000,
  ) {}

  async read(streamId: string): Promise<RecordedEvent[]> {
    const cached = this.streams.get(streamId) ?? [];
    let fresh: RecordedEvent[] = [];
    try {
      fresh = await this.store.readStream(streamId, { fromRevision: cached.length });
    } catch (error) {
      if (!(error instanceof StreamNotFoundError)) throw error;
    }
    const events = fresh.length > 0 ? [...cached, ...fresh] : cached;
    this.streams.delete(streamId); // re-inserted last: Map order is the recency order
    this.streams.set(streamId, events);
    if (this.streams.size > this.maxStreams) this.streams.delete(this.streams.keys().next().value!);
    return events;
  }
}
