import { canonicalJson, chainHashOfCanonicalPayloads, GENESIS_HASH } from '@audit-ledger/integrity';
import { type AppendResult } from '../event-store.port.js';
import { IdempotencyConflictError, WrongExpectedVersionError } from '../errors.js';
import { type ValidAppend } from './append-validation.js';
import { differentContentConflict, foreignStreamConflict, idsOf } from '../append-input.js';

/** The last event of a stream as the batch transaction read it, under the stream's lock. */
export interface StreamHead {
  revision: number;
  hash: string;
}

/** An event already stored under one of the batch's event ids (type and data to tell a replay from a conflict). */
export interface StoredEvent {
  eventId: string;
  streamId: string;
  streamRevision: number;
  globalPosition: bigint;
  hash: string;
  type: string;
  data: Record<string, unknown>;
}

export interface PlannedRow {
  eventId: string;
  streamId: string;
  streamRevision: number;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  /** RFC 8785 text of data and metadata: what the row stores (json) and the hash covers. */
  canonicalData: string;
  canonicalMetadata: string;
  prevHash: string;
  hash: string;
}

/** One event of an outcome: already stored, or the row at this index of the batch's insert. */
type EventSource = { stored: StoredEvent } | { row: number };

export type PlannedOutcome =
  { kind: 'written'; streamId: string; replay: boolean; events: EventSource[] } | { kind: 'rejected'; error: Error };

/** An event of a request found stored (or planned earlier in the batch) under its id or one of its aliases. */
interface KnownEvent {
  index: number;
  eventId: string;
  streamId: string;
  source: EventSource;
}

export interface BatchPlan {
  rows: PlannedRow[];
  outcomes: PlannedOutcome[];
}

/**
 * Decides every request of a batch in queue order against the stream heads and the event ids already stored: a later
 * request sees the heads and ids left by the earlier ones. A request that fails its own checks is rejected alone.
 * Idempotency comes before the revision check: a retried append must get its original answer even though the stream
 * has moved on.
 */
export function planBatch(
  requests: readonly ValidAppend[],
  heads: ReadonlyMap<string, StreamHead>,
  stored: ReadonlyMap<string, StoredEvent>,
): BatchPlan {
  const rows: PlannedRow[] = [];
  const current = new Map(heads);
  const inBatch = new Map<string, { streamId: string; row: number }>();

  const outcomes = requests.map((request): PlannedOutcome => {
    const { streamId } = request;
    // An event is known under its own id, or (stored before its id formula changed) under one of its aliases.
    const known = request.events.map((event, index): KnownEvent | undefined => {
      for (const id of idsOf(event)) {
        const previous = stored.get(id);
        if (previous) return { index, eventId: id, streamId: previous.streamId, source: { stored: previous } };
        const planned = inBatch.get(id);
        if (planned) return { index, eventId: id, streamId: planned.streamId, source: { row: planned.row } };
      }
      return undefined;
    });
    const found = known.filter((entry) => entry !== undefined);
    if (found.length > 0) {
      const foreign = found.find((entry) => entry.streamId !== streamId);
      if (foreign) {
        const source = foreign.source;
        const storedEvent = 'stored' in source ? source.stored : { ...rows[source.row]!, globalPosition: undefined };
        return rejected(
          foreignStreamConflict(streamId, request.events[foreign.index]!, storedEvent, request.derivedPaths),
        );
      }
      if (found.length < request.events.length) {
        const detail = `${found.length} of the ${request.events.length} events are already stored, the others are not`;
        return rejected(new IdempotencyConflictError(streamId, ids(found), detail));
      }
      const conflict = differentContent(request, found, rows);
      if (conflict) return rejected(conflict);
      return { kind: 'written', streamId, replay: true, events: found.map((entry) => entry.source) };
    }

    const head = current.get(streamId);
    const expected = request.expectedRevision;
    const accepted =
      expected === 'any' ||
      (expected === 'no_stream' && head === undefined) ||
      (expected === 'stream_exists' && head !== undefined) ||
      (typeof expected === 'number' && head?.revision === expected);
    if (!accepted) return rejected(new WrongExpectedVersionError(streamId, expected, head?.revision ?? 'no_stream'));

    let revision = head ? head.revision : -1;
    let prevHash = head ? head.hash : GENESIS_HASH;
    const events: EventSource[] = request.events.map((event) => {
      revision += 1;
      const canonicalData = canonicalJson(event.data);
      const canonicalMetadata = canonicalJson(event.metadata);
      const fields = { eventId: event.eventId, streamId, streamRevision: revision, type: event.type };
      const hash = chainHashOfCanonicalPayloads(prevHash, fields, canonicalData, canonicalMetadata);
      const row =
        rows.push({ ...event, streamId, streamRevision: revision, canonicalData, canonicalMetadata, prevHash, hash }) -
        1;
      inBatch.set(event.eventId, { streamId, row });
      prevHash = hash;
      return { row };
    });
    current.set(streamId, { revision, hash: prevHash });
    return { kind: 'written', streamId, replay: false, events };
  });

  return { rows, outcomes };
}

/** The caller's answer once the batch committed; `positions[i]` is the global position given to `rows[i]`. */
export function toAppendResult(
  outcome: Extract<PlannedOutcome, { kind: 'written' }>,
  rows: readonly PlannedRow[],
  positions: readonly bigint[],
): AppendResult {
  const events = outcome.events.map((source) => {
    if ('stored' in source) {
      const { eventId, streamRevision, globalPosition, hash } = source.stored;
      return { eventId, streamRevision, globalPosition, hash };
    }
    const row = rows[source.row];
    const globalPosition = positions[source.row];
    if (!row || globalPosition === undefined) throw new Error(`No inserted row ${source.row} in the batch`);
    return { eventId: row.eventId, streamRevision: row.streamRevision, globalPosition, hash: row.hash };
  });
  return {
    streamId: outcome.streamId,
    nextExpectedRevision: Math.max(...events.map((event) => event.streamRevision)),
    lastPosition: events.reduce((last, event) => (event.globalPosition > last ? event.globalPosition : last), 0n),
    events,
    idempotentReplay: outcome.replay,
  };
}

/**
 * A replay must carry what is stored under its ids. An id planned earlier in the same batch has no position yet: its
 * conflict names the position as `pending`.
 */
function differentContent(
  request: ValidAppend,
  found: readonly { eventId: string; source: EventSource }[],
  rows: readonly PlannedRow[],
): IdempotencyConflictError | undefined {
  const pairs = request.events.map((proposed, index) => {
    const source = found[index]!.source;
    if ('stored' in source) return { proposed, stored: source.stored };
    const row = rows[source.row]!;
    return { proposed, stored: { ...row, globalPosition: undefined } };
  });
  return differentContentConflict(request.streamId, pairs, request.derivedPaths);
}

function rejected(error: Error): PlannedOutcome {
  return { kind: 'rejected', error };
}

function ids(entries: readonly { eventId: string }[]): string[] {
  return entries.map((entry) => entry.eventId);
}
