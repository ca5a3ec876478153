import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { chainHash, GENESIS_HASH } from '@audit-ledger/integrity';
import { type NewEvent, type RecordedEvent } from '../src/event-store.port.js';

export async function rawClient(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'ledger-test-raw' });
  await client.connect();
  return client;
}

export function newEvent(type = 'Happened', data: Record<string, unknown> = {}): NewEvent {
  return { eventId: randomUUID(), type, data, metadata: {} };
}

/**
 * Inserts the first event of a new stream on a raw connection inside an open transaction, taking the transaction id
 * first as the adapter's writers do, and returns its global position. The caller commits or rolls back.
 */
export async function insertInOpenTransaction(
  client: pg.Client,
  streamId: string,
  eventId: string = randomUUID(),
): Promise<bigint> {
  await client.query('BEGIN');
  await client.query('SELECT pg_current_xact_id()');
  return insertRow(client, streamId, eventId);
}

export async function insertRow(
  client: pg.ClientBase,
  streamId: string,
  eventId: string = randomUUID(),
): Promise<bigint> {
  const fields = { eventId, streamId, streamRevision: 0, type: 'Raw', data: {}, metadata: {} };
  const { rows } = await client.query<{ global_position: string }>(
    `INSERT INTO ledger.events (event_id, stream_id, stream_revision, type, data, metadata, prev_hash, hash)
     VALUES ($1, $2, 0, 'Raw', '{}', '{}', $3, $4) RETURNING global_position`,
    [eventId, streamId, GENESIS_HASH, chainHash(GENESIS_HASH, fields)],
  );
  return BigInt(rows[0]!.global_position);
}

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Resolves with the next event, or with `undefined` if none arrives within `ms`. */
export async function nextWithin(
  iterator: AsyncIterator<RecordedEvent>,
  pending: { next?: Promise<IteratorResult<RecordedEvent>> },
  ms: number,
): Promise<RecordedEvent | undefined> {
  pending.next ??= iterator.next();
  const timedOut = Symbol('timeout');
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    pending.next,
    new Promise<typeof timedOut>((resolve) => {
      timer = setTimeout(() => resolve(timedOut), ms);
    }),
  ]);
  clearTimeout(timer);
  if (result === timedOut) return undefined;
  pending.next = undefined;
  if (result.done) throw new Error('The subscription ended');
  return result.value;
}
