import type pg from 'pg';
import { type AppendResult } from '../event-store.port.js';
import {
  planBatch,
  toAppendResult,
  type PlannedOutcome,
  type PlannedRow,
  type StoredEvent,
  type StreamHead,
} from './append-plan.js';
import { type StreamHeadCache } from './stream-head-cache.js';
import { type ValidAppend } from './append-validation.js';
import { idsOf } from '../append-input.js';
import { GENERIC_PLANS, insertRows, lockStreams, readHeads, readStored } from './append-statements.js';

/** Each request's own answer: its result, or the error that rejected it alone. */
export type RequestOutcome = { ok: true; result: AppendResult } | { ok: false; error: Error };

export interface WriteBatchHooks {
  /**
   * Called once the batch is decided, just before its INSERT and COMMIT are sent; for a batch written in one round
   * trip, once that round trip returned.
   */
  onCommitting?(): void;
  /**
   * The heads this process remembers. When it knows every stream of the batch, the batch is planned on them and sent
   * in one round trip, the INSERT guarded by a check of those heads; a failed check commits nothing and the batch
   * takes the two round trips below. Kept up to date with what each batch plans.
   */
  heads?: StreamHeadCache;
}

/**
 * Writes a batch of appends in ONE transaction and returns each request's outcome once it committed. Throws (after
 * rolling back) when the transaction itself fails; the caller then retries the requests one by one.
 *
 * With every stream's head remembered (see `heads`) and a plan that writes every request: ONE round trip, one
 * simple-protocol message: BEGIN; generic plans; take the transaction id; lock the streams; INSERT … WHERE <the heads
 * are those remembered and no event id is stored> RETURNING; COMMIT. The guard runs after the locks (its own snapshot), so when
 * it holds, the plan is exactly the one the two round trips below would make; when it does not, the INSERT writes
 * nothing, the empty transaction commits and the batch is written the long way.
 *
 * Otherwise two round trips, each one simple-protocol message of several statements (so values are inlined as
 * literals, see sql-literal.ts); the server runs a message's statements in order and stops at the first error:
 *   1. BEGIN; generic plans; take the transaction id; lock the streams; read their heads; read the event ids stored.
 *   2. INSERT … RETURNING; COMMIT.
 * The locks, reads and insert are statements prepared on the connection, run by EXECUTE (append-statements.ts).
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
  const guessed = hooks.heads && planOnRemembered(requests, hooks.heads);
  if (guessed) {
    const written = await writeGuarded(client, requests, guessed, hooks);
    if (written) return written;
  }
  let rows: PlannedRow[];
  let outcomes: ReturnType<typeof planBatch>['outcomes'];
  let positions: bigint[];
  try {
    const { heads, stored } = await beginAndRead(client, requests);
    ({ rows, outcomes } = planBatch(requests, heads, stored));
    if (hooks.heads) remember(hooks.heads, requests, heads, rows);
    hooks.onCommitting?.();
    positions = await insertAndCommit(client, rows);
  } catch (error) {
    hooks.heads?.forget(streamsOf(requests));
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  return answers(outcomes, rows, positions);
}

function answers(outcomes: PlannedOutcome[], rows: readonly PlannedRow[], positions: readonly bigint[]) {
  return outcomes.map((outcome): RequestOutcome =>
    outcome.kind === 'rejected'
      ? { ok: false, error: outcome.error }
      : { ok: true, result: toAppendResult(outcome, rows, positions) },
  );
}

/** A plan on the remembered heads, if every stream is remembered and every request would write new events. */
interface GuessedPlan {
  heads: Map<string, StreamHead | null>;
  rows: PlannedRow[];
  outcomes: PlannedOutcome[];
}

function planOnRemembered(requests: readonly ValidAppend[], cache: StreamHeadCache): GuessedPlan | undefined {
  const heads = new Map<string, StreamHead | null>();
  for (const { streamId } of requests) {
    const head = cache.get(streamId);
    if (head === undefined) return undefined;
    heads.set(streamId, head);
  }
  const existing = new Map<string, StreamHead>();
  for (const [streamId, head] of heads) if (head) existing.set(streamId, head);
  // Nothing stored under the batch's ids is assumed (and checked): a replay or a rejection takes the long way, which
  // reads what it is decided on.
  const { rows, outcomes } = planBatch(requests, existing, new Map());
  if (rows.length === 0 || outcomes.some((o) => o.kind !== 'written' || o.replay)) return undefined;
  return { heads, rows, outcomes };
}

/** The one-round-trip write; `undefined` when the guard found the heads or ids other than assumed (nothing written). */
async function writeGuarded(
  client: pg.ClientBase,
  requests: readonly ValidAppend[],
  plan: GuessedPlan,
  hooks: WriteBatchHooks,
): Promise<RequestOutcome[] | undefined> {
  const cache = hooks.heads!;
  remember(cache, requests, new Map(), plan.rows);
  let results: pg.QueryResult[];
  try {
    results = await multiStatement(client, 6, [
      'BEGIN',
      GENERIC_PLANS,
      XACT_ID,
      lockStreams([...streamsOf(requests)]),
      insertRows(plan.rows, {
        assumed: [...plan.heads].map(([streamId, head]) => ({ streamId, head })),
        // Nothing stored under the batch's ids (aliases too) is assumed: a replay takes the long way.
        absentIds: eventIdsOf(requests),
      }),
      'COMMIT',
    ]);
    assertCommitted(results[5]!);
  } catch (error) {
    cache.forget(streamsOf(requests));
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  const inserted = results[4]!.rows as InsertedRow[];
  if (inserted.length === 0) {
    cache.forget(streamsOf(requests));
    return undefined;
  }
  // Only now: the next batch collects what arrives during this one's round trip, as it collects during the read of
  // the two-round-trip path (leaving at once made the next batches small, and more of them).
  hooks.onCommitting?.();
  return answers(plan.outcomes, plan.rows, positionsOf(plan.rows, inserted));
}

/** After planning: each stream's head once the batch commits (read heads for streams it does not write). */
function remember(
  cache: StreamHeadCache,
  requests: readonly ValidAppend[],
  read: ReadonlyMap<string, StreamHead>,
  rows: readonly PlannedRow[],
): void {
  for (const streamId of streamsOf(requests)) cache.set(streamId, read.get(streamId) ?? null);
  for (const row of rows) cache.set(row.streamId, { revision: row.streamRevision, hash: row.hash });
}

function streamsOf(requests: readonly ValidAppend[]): Set<string> {
  return new Set(requests.map((request) => request.streamId));
}

/** Every id the batch's events are or were known by (see NewEvent.aliasEventIds), once each. */
function eventIdsOf(requests: readonly ValidAppend[]): string[] {
  return [...new Set(requests.flatMap((r) => r.events.flatMap(idsOf)))];
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
  const streamIds = [...streamsOf(requests)];
  // Statements of one message, in order. In READ COMMITTED each takes its own snapshot, so the heads and the stored
  // ids (alias ids too: an event stored under the id its caller derived before) are read after the locks are granted
  // and see every batch committed before.
  const results = await multiStatement(client, 6, [
    'BEGIN',
    GENERIC_PLANS,
    XACT_ID,
    lockStreams(streamIds),
    readHeads(streamIds),
    readStored(eventIdsOf(requests)),
  ]);
  const heads = (results[4]!.rows as HeadRow[]).map(
    (row) => [row.stream_id, { revision: Number(row.stream_revision), hash: row.hash }] as const,
  );
  const stored = (results[5]!.rows as StoredRow[]).map(
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

/** The rows' insert and the COMMIT; positions by row index, once the server has confirmed the COMMIT. */
async function insertAndCommit(client: pg.ClientBase, rows: readonly PlannedRow[]): Promise<bigint[]> {
  if (rows.length === 0) {
    // Nothing to write (replays and rejections only); still commit, so that the answers wait for a flush that covers
    // what they were decided on, as every answer does.
    const [commit] = await multiStatement(client, 1, ['COMMIT']);
    assertCommitted(commit!);
    return [];
  }
  const [inserted, commit] = await multiStatement(client, 2, [insertRows(rows), 'COMMIT']);
  assertCommitted(commit!);
  return positionsOf(rows, inserted!.rows as InsertedRow[]);
}

// The transaction id is taken before any sequence value: readers rely on it to tell an in-flight hole in the global
// order from a permanent one (see gap-free-reader.ts).
const XACT_ID = 'SELECT pg_current_xact_id()';

type InsertedRow = { event_id: string; global_position: string };

/** Positions by row index. Event ids are unique among the rows: a repeated id in a batch is planned as a replay. */
function positionsOf(rows: readonly PlannedRow[], inserted: readonly InsertedRow[]): bigint[] {
  const byEventId = new Map(inserted.map((row) => [row.event_id, BigInt(row.global_position)]));
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
