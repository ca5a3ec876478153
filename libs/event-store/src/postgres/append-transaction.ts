import type pg from 'pg';
import { type AppendResult } from '../event-store.port.js';
import { planBatch, toAppendResult, type PlannedRow, type StoredEvent, type StreamHead } from './append-plan.js';
import { type ValidAppend } from './append-validation.js';
import { idsOf } from '../append-input.js';
import { EVENTS_TABLE } from './ledger-schema.js';
import { sqlArray, sqlInteger, sqlLiteral } from './sql-literal.js';

/** Each request's own answer: its result, or the error that rejected it alone. */
export type RequestOutcome = { ok: true; result: AppendResult } | { ok: false; error: Error };

export interface WriteBatchHooks {
  /** Called once the batch is decided, just before its INSERT and COMMIT are sent. */
  onCommitting?(): void;
}

/**
 * Writes a batch of appends in ONE transaction and returns each request's outcome once it committed. Throws (after
 * rolling back) when the transaction itself fails; the caller then retries the requests one by one.
 *
 * Two round trips, each one simple-protocol message of several statements (so values are inlined as literals, see
 * sql-literal.ts); the server runs a message's statements in order and stops at the first error:
 *   1. BEGIN; take the transaction id; lock the streams; read their heads; read the event ids already stored.
 *   2. INSERT … RETURNING; COMMIT.
 * The plan (revision checks, idempotency, hash chain) is made in between, under the locks. Sending COMMIT with the
 * INSERT loses nothing: a failing INSERT is a statement error (the COMMIT is then skipped and the transaction rolled
 * back below), whichever row caused it, exactly as when the INSERT went alone; and the callers are answered only once
 * the server reports the COMMIT itself, i.e. after the commit record is flushed (`synchronous_commit` on).
 */
export async function writeBatch(
  client: pg.ClientBase,
  requests: readonly ValidAppend[],
  hooks: WriteBatchHooks = {},
): Promise<RequestOutcome[]> {
  let rows: PlannedRow[];
  let outcomes: ReturnType<typeof planBatch>['outcomes'];
  let positions: bigint[];
  try {
    const { heads, stored } = await beginAndRead(client, requests);
    ({ rows, outcomes } = planBatch(requests, heads, stored));
    hooks.onCommitting?.();
    positions = await insertAndCommit(client, rows);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  return outcomes.map((outcome) =>
    outcome.kind === 'rejected'
      ? { ok: false, error: outcome.error }
      : { ok: true, result: toAppendResult(outcome, rows, positions) },
  );
}

type HeadRow = { stream_id: string; stream_revision: string; hash: string };
type StoredRow = {
  event_id: string;
  stream_id: string;
  stream_revision: string;
  global_position: string;
  hash: string;
  type: string;
  data: Record<string, unknown>;
};

async function beginAndRead(
  client: pg.ClientBase,
  requests: readonly ValidAppend[],
): Promise<{ heads: Map<string, StreamHead>; stored: Map<string, StoredEvent> }> {
  const streamIds = sqlArray([...new Set(requests.map((request) => request.streamId))], 'text');
  // Alias ids too: an event stored under the id its caller derived before (see NewEvent.aliasEventIds).
  const eventIds = sqlArray([...new Set(requests.flatMap((r) => r.events.flatMap(idsOf)))], 'uuid');
  // Statements of one message, in order. In READ COMMITTED each takes its own snapshot, so the heads and the stored
  // ids are read after the locks are granted and see every batch committed before.
  const results = await multiStatement(client, 5, [
    'BEGIN',
    // The transaction id is taken before any sequence value: readers rely on it to tell an in-flight hole in the
    // global order from a permanent one (see gap-free-reader.ts).
    'SELECT pg_current_xact_id()',
    // Serialises writers of the same stream across processes; sorted keys so two batches never deadlock.
    `SELECT pg_advisory_xact_lock(key)
       FROM (SELECT DISTINCT hashtextextended(stream_id, 0) AS key FROM unnest(${streamIds}) AS s(stream_id) ORDER BY 1)
            AS keys`,
    `SELECT s.stream_id, head.stream_revision, head.hash
       FROM unnest(${streamIds}) AS s(stream_id)
       CROSS JOIN LATERAL (
         SELECT stream_revision, hash FROM ${EVENTS_TABLE} AS e
          WHERE e.stream_id = s.stream_id ORDER BY stream_revision DESC LIMIT 1
       ) AS head`,
    `SELECT event_id, stream_id, stream_revision, global_position, hash, type, data FROM ${EVENTS_TABLE}
      WHERE event_id = ANY(${eventIds})`,
  ]);
  const heads = (results[3]!.rows as HeadRow[]).map(
    (row) => [row.stream_id, { revision: Number(row.stream_revision), hash: row.hash }] as const,
  );
  const stored = (results[4]!.rows as StoredRow[]).map(
    (row) =>
      [
        row.event_id,
        {
          eventId: row.event_id,
          streamId: row.stream_id,
          streamRevision: Number(row.stream_revision),
          globalPosition: BigInt(row.global_position),
          hash: row.hash,
          type: row.type,
          data: row.data,
        },
      ] as const,
  );
  return { heads: new Map(heads), stored: new Map(stored) };
}

/**
 * One multi-row insert and the COMMIT. ORDER BY ord hands out global positions in queue order. Returns positions by
 * row index, once the server has confirmed the COMMIT.
 */
async function insertAndCommit(client: pg.ClientBase, rows: readonly PlannedRow[]): Promise<bigint[]> {
  if (rows.length === 0) {
    // Nothing to write (replays and rejections only); still commit, so that the answers wait for a flush that covers
    // what they were decided on, as every answer does.
    const [commit] = await multiStatement(client, 1, ['COMMIT']);
    assertCommitted(commit!);
    return [];
  }
  const values = rows.map((row, ord) =>
    [
      sqlInteger(ord),
      sqlLiteral(row.eventId),
      sqlLiteral(row.streamId),
      sqlInteger(row.streamRevision),
      sqlLiteral(row.type),
      sqlLiteral(row.canonicalData),
      sqlLiteral(row.canonicalMetadata),
      sqlLiteral(row.prevHash),
      sqlLiteral(row.hash),
    ].join(','),
  );
  const [inserted, commit] = await multiStatement(client, 2, [
    `INSERT INTO ${EVENTS_TABLE} (event_id, stream_id, stream_revision, type, data, metadata, prev_hash, hash)
     SELECT event_id::uuid, stream_id, stream_revision::bigint, type, data::json, metadata::json, prev_hash, hash
       FROM (VALUES (${values.join('),(')}))
            AS r(ord, event_id, stream_id, stream_revision, type, data, metadata, prev_hash, hash)
      ORDER BY ord
     RETURNING event_id, global_position`,
    'COMMIT',
  ]);
  assertCommitted(commit!);
  // Event ids are unique among the rows: a repeated id in a batch is planned as a replay, not inserted twice.
  const byEventId = new Map(
    (inserted!.rows as { event_id: string; global_position: string }[]).map((row) => [
      row.event_id,
      BigInt(row.global_position),
    ]),
  );
  return rows.map((row) => {
    const position = byEventId.get(row.eventId);
    if (position === undefined) throw new Error(`The insert returned no position for event ${row.eventId}`);
    return position;
  });
}

/** Sends the statements as one simple-protocol query and returns one result per statement. */
async function multiStatement(client: pg.ClientBase, count: number, statements: string[]): Promise<pg.QueryResult[]> {
  const result = (await client.query(statements.join(';\n'))) as pg.QueryResult | pg.QueryResult[];
  const results = Array.isArray(result) ? result : [result];
  if (results.length !== count)
    throw new Error(`Expected ${count} results from the append transaction, got ${results.length}`);
  return results;
}

/** COMMIT of a transaction that had failed reports ROLLBACK instead of an error: never take that for a commit. */
function assertCommitted(result: pg.QueryResult): void {
  if (result.command !== 'COMMIT') throw new Error(`The append transaction did not commit (${result.command})`);
}
