import type pg from 'pg';
import { type AppendResult } from '../event-store.port.js';
import { planBatch, toAppendResult, type PlannedRow, type StoredEvent, type StreamHead } from './append-plan.js';
import { type ValidAppend } from './append-validation.js';
import { EVENTS_TABLE } from './ledger-schema.js';

/** Each request's own answer: its result, or the error that rejected it alone. */
export type RequestOutcome = { ok: true; result: AppendResult } | { ok: false; error: Error };

/**
 * Writes a batch of appends in ONE transaction and returns each request's outcome once it committed. Throws (after
 * rolling back) when the transaction itself fails; the caller then retries the requests one by one.
 */
export async function writeBatch(client: pg.ClientBase, requests: readonly ValidAppend[]): Promise<RequestOutcome[]> {
  await client.query('BEGIN');
  try {
    const outcomes = await decideAndInsert(client, requests);
    await client.query('COMMIT');
    return outcomes;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

async function decideAndInsert(client: pg.ClientBase, requests: readonly ValidAppend[]): Promise<RequestOutcome[]> {
  // The transaction id is taken before any sequence value: readers rely on it to tell an in-flight hole in the global
  // order from a permanent one (see gap-free-reader.ts).
  await client.query('SELECT pg_current_xact_id()');
  const streamIds = [...new Set(requests.map((request) => request.streamId))];
  // Serialises writers of the same stream across processes; sorted keys so two batches never deadlock.
  await client.query(
    `SELECT pg_advisory_xact_lock(key)
       FROM (SELECT DISTINCT hashtextextended(stream_id, 0) AS key FROM unnest($1::text[]) AS s(stream_id) ORDER BY 1) AS keys`,
    [streamIds],
  );
  const heads = await readHeads(client, streamIds);
  const stored = await readStored(client, [...new Set(requests.flatMap((r) => r.events.map((e) => e.eventId)))]);
  const { rows, outcomes } = planBatch(requests, heads, stored);
  const positions = rows.length > 0 ? await insertRows(client, rows) : [];
  return outcomes.map((outcome) =>
    outcome.kind === 'rejected'
      ? { ok: false, error: outcome.error }
      : { ok: true, result: toAppendResult(outcome, rows, positions) },
  );
}

async function readHeads(client: pg.ClientBase, streamIds: string[]): Promise<Map<string, StreamHead>> {
  const { rows } = await client.query<{ stream_id: string; stream_revision: string; hash: string }>(
    `SELECT s.stream_id, head.stream_revision, head.hash
       FROM unnest($1::text[]) AS s(stream_id)
       CROSS JOIN LATERAL (
         SELECT stream_revision, hash FROM ${EVENTS_TABLE} AS e
          WHERE e.stream_id = s.stream_id ORDER BY stream_revision DESC LIMIT 1
       ) AS head`,
    [streamIds],
  );
  return new Map(rows.map((row) => [row.stream_id, { revision: Number(row.stream_revision), hash: row.hash }]));
}

async function readStored(client: pg.ClientBase, eventIds: string[]): Promise<Map<string, StoredEvent>> {
  const { rows } = await client.query<{
    event_id: string;
    stream_id: string;
    stream_revision: string;
    global_position: string;
    hash: string;
  }>(
    `SELECT event_id, stream_id, stream_revision, global_position, hash FROM ${EVENTS_TABLE}
      WHERE event_id = ANY($1::uuid[])`,
    [eventIds],
  );
  return new Map(
    rows.map((row) => [
      row.event_id,
      {
        eventId: row.event_id,
        streamId: row.stream_id,
        streamRevision: Number(row.stream_revision),
        globalPosition: BigInt(row.global_position),
        hash: row.hash,
      },
    ]),
  );
}

/** One multi-row insert; ORDER BY ord hands out global positions in queue order. Returns positions by row index. */
async function insertRows(client: pg.ClientBase, rows: readonly PlannedRow[]): Promise<bigint[]> {
  const result = await client.query<{ event_id: string; global_position: string }>(
    `INSERT INTO ${EVENTS_TABLE} (event_id, stream_id, stream_revision, type, data, metadata, prev_hash, hash)
     SELECT event_id, stream_id, stream_revision, type, data::jsonb, metadata::jsonb, prev_hash, hash
       FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
            WITH ORDINALITY AS r(event_id, stream_id, stream_revision, type, data, metadata, prev_hash, hash, ord)
      ORDER BY ord
     RETURNING event_id, global_position`,
    [
      rows.map((row) => row.eventId),
      rows.map((row) => row.streamId),
      rows.map((row) => row.streamRevision),
      rows.map((row) => row.type),
      rows.map((row) => JSON.stringify(row.data)),
      rows.map((row) => JSON.stringify(row.metadata)),
      rows.map((row) => row.prevHash),
      rows.map((row) => row.hash),
    ],
  );
  // Event ids are unique among the rows: a repeated id in a batch is planned as a replay, not inserted twice.
  const byEventId = new Map(result.rows.map((row) => [row.event_id, BigInt(row.global_position)]));
  return rows.map((row) => {
    const position = byEventId.get(row.eventId);
    if (position === undefined) throw new Error(`The insert returned no position for event ${row.eventId}`);
    return position;
  });
}
