import type { LifecycleState, ReconciliationState } from '@audit-ledger/domain';
import { StreamNotFoundError, type EventStore, type RecordedEvent } from '@audit-ledger/event-store';
import type { AppendedEvent } from './reconcile-execution.js';
import { foldIncrementally, type FoldedStream } from './stream-fold.js';

/**
 * The processor decides each execution against its whole stream. Reading the stream again for every execution made
 * reconciliation quadratic in a stream's length and, under load, starved the append path; this cache keeps the
 * streams recently worked on and reads only the revisions it has not seen yet. Revisions are contiguous from 0, so
 * the cached prefix of a stream never changes. Callers handle one stream at a time (the processor's lanes).
 *
 * Two things save round trips: a caller that needs the stream only up to a revision the cache holds gets the cache
 * without a read (an execution is decided on the events before it; verdicts recorded after it only matter for
 * idempotence, which the deterministic event ids already give), and the processor's own appends are added from
 * the store's acknowledgement when they directly follow the cached prefix (their `recordedAt` is then the
 * processor's clock, not the database's: the processor folds only types and data).
 *
 * It also keeps each stream's last fold, so deciding the next execution evolves the state by the new events only
 * instead of folding the whole stream again (quadratic in a stream's length as well).
 */
export class StreamReadCache {
  /**
   * A stream's cached events grow in place (the revisions it holds never change): a caller may find events after the
   * ones it read at the end of the array it was given, never different ones before them.
   */
  private readonly streams = new Map<string, RecordedEvent[]>();
  private readonly folds = new Map<string, FoldedStream>();

  constructor(
    private readonly store: EventStore,
    private readonly maxStreams = 1000,
  ) {}

  async read(streamId: string, throughRevision?: number): Promise<RecordedEvent[]> {
    const cached = this.streams.get(streamId) ?? [];
    if (throughRevision !== undefined && cached.length > throughRevision) {
      this.keep(streamId, cached);
      return cached;
    }
    let fresh: RecordedEvent[] = [];
    try {
      fresh = await this.store.readStream(streamId, { fromRevision: cached.length });
    } catch (error) {
      if (!(error instanceof StreamNotFoundError)) throw error;
    }
    const events = fresh.length > 0 ? [...cached, ...fresh] : cached;
    this.keep(streamId, events);
    return events;
  }

  /** The state of `recorded` (the stream from revision 0), evolved from the stream's last fold when it covers a prefix. */
  fold(streamId: string, recorded: readonly RecordedEvent[]): ReconciliationState {
    const folded = foldIncrementally(streamId, recorded, this.folds.get(streamId));
    if (this.streams.has(streamId)) this.folds.set(streamId, folded); // evicted with the stream's events
    return folded.state;
  }

  /**
   * The lifecycle of the stream's revisions before `revision` (what the decider would rebuild from the history), by
   * evolving the stream's last fold up to it; undefined when that fold already went past it (the decider then
   * rebuilds it from the history).
   */
  lifecycleBefore(streamId: string, recorded: readonly RecordedEvent[], revision: number): LifecycleState | undefined {
    const previous = this.folds.get(streamId);
    if (previous && previous.length > revision) return undefined;
    const folded = foldIncrementally(streamId, recorded, previous, revision);
    if (this.streams.has(streamId)) this.folds.set(streamId, folded);
    return folded.state.lifecycle;
  }

  /**
   * An event the processor's subscription delivered (in its stream's lane): kept when it directly follows the cached
   * prefix, so the execution it may be is decided without reading the stream again. A stream's first event (revision
   * 0: the grant of an approval, the first execution of a session) starts its entry: a stream created while the
   * processor follows the log is never read from the store.
   */
  seen(event: RecordedEvent): void {
    const cached = this.streams.get(event.streamId) ?? (event.streamRevision === 0 ? [] : undefined);
    if (!cached || event.streamRevision !== cached.length) return;
    cached.push(event);
    this.keep(event.streamId, cached);
  }

  /** What the processor appended: kept when it directly follows the cached prefix, else left for the next read. */
  appended(streamId: string, events: readonly AppendedEvent[], recordedAt: Date): void {
    const cached = this.streams.get(streamId);
    if (!cached || events.length === 0 || events[0]!.streamRevision !== cached.length) return;
    let prevHash = cached[cached.length - 1]?.hash ?? '';
    for (const event of events) {
      cached.push({ ...event, prevHash, recordedAt });
      prevHash = event.hash;
    }
    this.keep(streamId, cached);
  }

  private keep(streamId: string, events: RecordedEvent[]): void {
    this.streams.delete(streamId); // re-inserted last: Map order is the recency order
    this.streams.set(streamId, events);
    if (this.streams.size > this.maxStreams) {
      const oldest = this.streams.keys().next().value!;
      this.streams.delete(oldest);
      this.folds.delete(oldest);
    }
  }
}
