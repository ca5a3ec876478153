import { type ReadAllFilter, type RecordedEvent } from '../event-store.port.js';
import { type GapTracker } from './gap-free-reader.js';
import { EVENTS_TABLE } from './ledger-schema.js';
import { toRecordedEvent, type EventRow } from './row-mapping.js';
import { type WriterPool } from './writer-pool.js';

export interface ReadPageOptions {
  filter?: ReadAllFilter;
  /** At most this many events in the page. */
  maxEvents: number;
}

/** Positions scanned per page when a filter is set: rows it rejects cost a position, not a payload. */
const FILTERED_WINDOW = 1000;

export interface ReadAllPage {
  /** Safe events matching the filter, in global order. */
  events: RecordedEvent[];
  /** Scanned and safe up to here: the next page reads after it. */
  cursor: bigint;
  /** Stopped at a hole in the global order that is not proven permanent yet. */
  blocked: boolean;
  /** More safe events may follow at once (the window was full, or `maxEvents` cut the page). */
  more: boolean;
}

type WindowRow = Omit<EventRow, 'data' | 'metadata'> & {
  snapshot_xmin: string;
  matched: boolean;
  data: EventRow['data'] | null;
  metadata: EventRow['metadata'] | null;
};

/**
 * One statement runs on one snapshot, and `pg_current_snapshot()` returns that snapshot: the rows and the xmin come
 * from the same instant, as in a REPEATABLE READ transaction, with one round trip. Rows the filter rejects are still
 * scanned (positions only, no payload): the gap check needs every position.
 */
const WINDOW_QUERY = `
  WITH snap AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS snapshot_xmin)
  SELECT snap.snapshot_xmin, m.matched, e.global_position, e.event_id, e.stream_id, e.stream_revision, e.type,
         CASE WHEN m.matched THEN e.data END AS data, CASE WHEN m.matched THEN e.metadata END AS metadata,
         e.prev_hash, e.hash, e.recorded_at
    FROM ${EVENTS_TABLE} AS e
    CROSS JOIN snap
    CROSS JOIN LATERAL (
      SELECT ($2::text[] IS NULL OR e.type = ANY($2::text[]))
         AND ($3::text[] IS NULL OR EXISTS (SELECT FROM unnest($3::text[]) AS p(prefix) WHERE starts_with(e.stream_id, p.prefix)))
             AS matched
    ) AS m
   WHERE e.global_position > $1
   ORDER BY e.global_position
   LIMIT $4`;

/** Reads the global log page by page, delivering only positions the gap-free reader proves safe. */
export class AllStreamReader {
  constructor(private readonly pool: WriterPool) {}

  async readPage(after: bigint, options: ReadPageOptions, tracker: GapTracker): Promise<ReadAllPage> {
    const eventTypes = nonEmpty(options.filter?.eventTypes);
    const streamPrefixes = nonEmpty(options.filter?.streamPrefixes);
    const window = eventTypes || streamPrefixes ? Math.max(options.maxEvents, FILTERED_WINDOW) : options.maxEvents;
    const { rows } = await this.pool.query<WindowRow>(WINDOW_QUERY, [
      after.toString(),
      eventTypes,
      streamPrefixes,
      window,
    ]);
    const first = rows[0];
    if (!first) return { events: [], cursor: after, blocked: false, more: false };

    const positions = rows.map((row) => BigInt(row.global_position));
    const prefix = tracker.evaluate({ after, positions, snapshotXmin: BigInt(first.snapshot_xmin) });
    if (prefix.blockedAt && !prefix.blockedAt.covered) {
      // Must be taken after the read above, in a statement of its own: see gap-free-reader.ts.
      const { rows: xid } = await this.pool.query<{ xid: string }>('SELECT pg_current_xact_id()::text AS xid');
      tracker.recordHorizon(prefix.blockedAt.highestSeen, BigInt(xid[0]!.xid));
    }

    const events: RecordedEvent[] = [];
    for (const [index, row] of rows.entries()) {
      const position = positions[index]!;
      if (position > prefix.safeUpTo) break;
      if (!row.matched) continue;
      if (events.length === options.maxEvents) {
        return { events, cursor: events[events.length - 1]!.globalPosition, blocked: false, more: true };
      }
      events.push(toRecordedEvent(row as EventRow));
    }
    return {
      events,
      cursor: prefix.safeUpTo,
      blocked: prefix.blockedAt !== undefined,
      more: prefix.blockedAt === undefined && rows.length === window,
    };
  }
}

function nonEmpty(values: string[] | undefined): string[] | null {
  return values && values.length > 0 ? values : null;
}
