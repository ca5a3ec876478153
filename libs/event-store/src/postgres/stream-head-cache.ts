import { type StreamHead } from './append-plan.js';

/** Streams remembered per process; beyond that the least recently written are forgotten (one slower append each). */
const DEFAULT_CAPACITY = 100_000;

/**
 * What this process last saw (or planned) as the head of each stream it appended to: `null` for a stream known not to
 * exist, no entry for a stream it knows nothing about. Only a guess: an append planned on it sends the heads it
 * assumed with its INSERT, and the database checks them under the stream locks (see append-transaction.ts), so a
 * stale entry (another process wrote the stream, a batch was rolled back) costs a second round trip, never a wrong
 * answer.
 */
export class StreamHeadCache {
  private readonly heads = new Map<string, StreamHead | null>();

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  /** The remembered head; `null`: known not to exist; `undefined`: unknown. */
  get(streamId: string): StreamHead | null | undefined {
    return this.heads.get(streamId);
  }

  set(streamId: string, head: StreamHead | null): void {
    // Re-inserted so that the Map's order is the order of last writes: the oldest is evicted first.
    this.heads.delete(streamId);
    this.heads.set(streamId, head);
    if (this.heads.size > this.capacity) {
      const oldest = this.heads.keys().next();
      if (!oldest.done) this.heads.delete(oldest.value);
    }
  }

  forget(streamIds: Iterable<string>): void {
    for (const streamId of streamIds) this.heads.delete(streamId);
  }
}
