import { EVENTS_TABLE } from './ledger-schema.js';
import { sqlArray, sqlInteger } from './sql-literal.js';

/**
 * The append transaction's statements, prepared once on each writer connection (see writer-pool.ts) and run by
 * EXECUTE inside its simple-protocol messages, with a generic plan.
 *
 * Why: sent as plain SQL, every statement was parsed, analysed and planned again for each batch, and planning the
 * guard and the reads over the partitioned events table (index paths and constraint checks for every partition) was
 * the largest part of PostgreSQL's CPU for a lone append (perf on the backend: 33 % of its samples in the planner,
 * 11 % in parse analysis; docs/benchmarks.md, "PostgreSQL's share of a lone append"). A prepared statement is analysed
 * once per connection; with `plan_cache_mode = force_generic_plan` (set for the transaction only, by
 * {@link GENERIC_PLANS}) it is planned once too. PostgreSQL's own choice would keep custom plans: a generic plan
 * assumes ten elements per array where a custom one knows there is one.
 *
 * A generic plan is kept until the table changes shape (the server plans again after DDL: a partition rolled,
 * attached or detached), not as it grows: one made while the table was nearly empty chose sequential scans for the
 * event id check, and kept them. So {@link GENERIC_PLANS} also turns sequential scans off for the transaction: every
 * lookup here has its index (stream and revision; event id), and the plan uses it whatever the table held when it
 * was made (postgres-append-statements.int-spec.ts).
 */

/** For the rest of the transaction: EXECUTE reuses one plan per statement, an index plan. One statement. */
export const GENERIC_PLANS =
  "SELECT set_config('plan_cache_mode', 'force_generic_plan', true), set_config('enable_seqscan', 'off', true)";

const LOCK = 'ledger_append_lock_streams';
const READ_HEADS = 'ledger_append_read_heads';
const READ_STORED = 'ledger_append_read_stored';
const INSERT = 'ledger_append_insert';

/** The PREPARE statements, one message; run once per connection, after SET ROLE. */
export const PREPARE_APPEND_STATEMENTS = [
  // Serialises writers of the same stream across processes; sorted keys so two batches never deadlock.
  `PREPARE ${LOCK}(text[]) AS
   SELECT pg_advisory_xact_lock(key)
     FROM (SELECT DISTINCT hashtextextended(stream_id, 0) AS key FROM unnest($1::text[]) AS s(stream_id) ORDER BY 1)
          AS keys`,
  `PREPARE ${READ_HEADS}(text[]) AS
   SELECT s.stream_id, head.stream_revision, head.hash
     FROM unnest($1::text[]) AS s(stream_id)
     CROSS JOIN LATERAL (
       SELECT stream_revision, hash FROM ${EVENTS_TABLE} AS e
        WHERE e.stream_id = s.stream_id ORDER BY stream_revision DESC LIMIT 1
     ) AS head`,
  `PREPARE ${READ_STORED}(uuid[]) AS
   SELECT event_id, stream_id, stream_revision, global_position, hash, type, data FROM ${EVENTS_TABLE}
    WHERE event_id = ANY($1::uuid[])`,
  // One multi-row insert; ORDER BY ord hands out global positions in row order. It writes only if every assumed head
  // ($1-$3: stream, revision or -1 for no stream, hash) is the stream's head and no id of $4 is stored; with no heads
  // assumed and no ids given (the two-round-trip path, which read them under the locks) it always writes.
  `PREPARE ${INSERT}(text[], bigint[], text[], uuid[], uuid[], text[], bigint[], text[], text[], text[], text[], text[]) AS
   INSERT INTO ${EVENTS_TABLE} (event_id, stream_id, stream_revision, type, data, metadata, prev_hash, hash)
   SELECT r.event_id, r.stream_id, r.stream_revision, r.type, r.data::json, r.metadata::json, r.prev_hash, r.hash
     FROM unnest($5::uuid[], $6::text[], $7::bigint[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])
          WITH ORDINALITY AS r(event_id, stream_id, stream_revision, type, data, metadata, prev_hash, hash, ord)
    WHERE COALESCE((SELECT bool_and(COALESCE(head.same, assumed.revision = -1))
             FROM unnest($1::text[], $2::bigint[], $3::text[]) AS assumed(stream_id, revision, hash)
             LEFT JOIN LATERAL (
               SELECT e.stream_revision = assumed.revision AND e.hash = assumed.hash AS same FROM ${EVENTS_TABLE} AS e
                WHERE e.stream_id = assumed.stream_id ORDER BY e.stream_revision DESC LIMIT 1
             ) AS head ON true), true)
      AND NOT EXISTS (SELECT FROM ${EVENTS_TABLE} WHERE event_id = ANY($4::uuid[]))
    ORDER BY r.ord
   RETURNING event_id, global_position`,
].join(';\n');

export function lockStreams(streamIds: readonly string[]): string {
  return `EXECUTE ${LOCK}(${sqlArray(streamIds, 'text')})`;
}

export function readHeads(streamIds: readonly string[]): string {
  return `EXECUTE ${READ_HEADS}(${sqlArray(streamIds, 'text')})`;
}

export function readStored(eventIds: readonly string[]): string {
  return `EXECUTE ${READ_STORED}(${sqlArray(eventIds, 'uuid')})`;
}

/** A row as the insert takes it: data and metadata as their canonical JSON text. */
interface InsertRow {
  eventId: string;
  streamId: string;
  streamRevision: number;
  type: string;
  canonicalData: string;
  canonicalMetadata: string;
  prevHash: string;
  hash: string;
}

/** The head a guarded insert assumes for a stream: `null` for a stream assumed not to exist. */
interface AssumedHead {
  streamId: string;
  head: { revision: number; hash: string } | null;
}

/** The insert of `rows`, guarded by `assumed` heads and `absentIds` when given (see the PREPARE above). */
export function insertRows(
  rows: readonly InsertRow[],
  guard: { assumed: readonly AssumedHead[]; absentIds: readonly string[] } = { assumed: [], absentIds: [] },
): string {
  const texts = (values: readonly string[]) => sqlArray(values, 'text');
  const args = [
    texts(guard.assumed.map((a) => a.streamId)),
    bigints(guard.assumed.map((a) => (a.head ? a.head.revision : -1))),
    texts(guard.assumed.map((a) => (a.head ? a.head.hash : ''))),
    sqlArray(guard.absentIds, 'uuid'),
    sqlArray(
      rows.map((row) => row.eventId),
      'uuid',
    ),
    texts(rows.map((row) => row.streamId)),
    bigints(rows.map((row) => row.streamRevision)),
    ...(['type', 'canonicalData', 'canonicalMetadata', 'prevHash', 'hash'] as const).map((column) =>
      texts(rows.map((row) => row[column])),
    ),
  ];
  return `EXECUTE ${INSERT}(${args.join(', ')})`;
}

function bigints(values: readonly number[]): string {
  return `ARRAY[${values.map(sqlInteger).join(',')}]::bigint[]`;
}
