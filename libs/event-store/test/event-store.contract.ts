import { randomUUID } from 'node:crypto';
import { GENESIS_HASH, verifyChain } from '@audit-ledger/integrity';
import {
  IdempotencyConflictError,
  InvalidAppendError,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '../src/errors.js';
import { type AppendResult, type EventStore, type NewEvent, type RecordedEvent } from '../src/event-store.port.js';

export interface EventStoreFixture {
  store: EventStore;
  teardown(): Promise<void>;
}

/**
 * The behaviour every EventStore adapter must have, written against the port only. The suite shares one store between
 * its tests and may run on a store that holds other data: each test writes to streams of its own (a fresh category
 * per test) and reads the global log from a position it captured itself.
 */
export function describeEventStoreContract(name: string, factory: () => Promise<EventStoreFixture>): void {
  describe(`${name} (event store contract)`, () => {
    let fixture: EventStoreFixture | undefined;
    let store: EventStore;

    beforeAll(async () => {
      fixture = await factory();
      store = fixture.store;
    });

    afterAll(async () => {
      await fixture?.teardown();
    });

    describe('appendToStream', () => {
      it('starts a new stream at revision 0 and chains the hashes from the genesis hash', async () => {
        // given a stream that does not exist
        const streamId = newStreamId();
        const events = [newEvent('Opened'), newEvent('Noted'), newEvent('Closed')];
        // when three events are appended
        const result = await store.appendToStream(streamId, events);
        // then they get revisions 0..2, ascending positions and a hash chain that verifies
        expect(result).toMatchObject({ streamId, nextExpectedRevision: 2, idempotentReplay: false });
        expect(result.events.map((event) => event.eventId)).toEqual(events.map((event) => event.eventId));
        expect(result.events.map((event) => event.streamRevision)).toEqual([0, 1, 2]);
        expectAscending(result.events.map((event) => event.globalPosition));
        expect(result.lastPosition).toBe(result.events[2]?.globalPosition);
        const stored = await store.readStream(streamId);
        expect(stored[0]?.prevHash).toBe(GENESIS_HASH);
        expect(stored.map((event) => event.hash)).toEqual(result.events.map((event) => event.hash));
        expect(verifyChain(stored)).toBeNull();
      });

      it('continues the chain of an existing stream', async () => {
        const streamId = newStreamId();
        const first = await store.appendToStream(streamId, [newEvent()]);
        const second = await store.appendToStream(streamId, [newEvent(), newEvent()]);
        expect(second.events.map((event) => event.streamRevision)).toEqual([1, 2]);
        expect(second.lastPosition > first.lastPosition).toBe(true);
        const stored = await store.readStream(streamId);
        expect(stored[1]?.prevHash).toBe(first.events[0]?.hash);
        expect(verifyChain(stored)).toBeNull();
      });

      it('stores data and metadata as given, and the hash covers them as read back', async () => {
        const streamId = newStreamId();
        const event = newEvent('Detailed', {
          nested: { list: [1, 'two', { three: 3.5 }], empty: {}, nothing: null },
          text: 'ünïcødé ✓ "quoted" \\ back',
          big: 1e21,
          negative: -0.000001,
          flag: false,
        });
        event.metadata = { correlationId: randomUUID(), actor: 'tester', schemaVersion: 1 };
        await store.appendToStream(streamId, [event]);
        const [stored] = await store.readStream(streamId);
        expect(stored).toMatchObject({ eventId: event.eventId, type: 'Detailed', streamId, streamRevision: 0 });
        expect(stored?.data).toEqual(event.data);
        expect(stored?.metadata).toEqual(event.metadata);
        expect(stored?.recordedAt).toBeInstanceOf(Date);
        expect(typeof stored?.globalPosition).toBe('bigint');
        expect(verifyChain(stored ? [stored] : [])).toBeNull();
      });

      it('refuses an append without events', async () => {
        await expect(store.appendToStream(newStreamId(), [])).rejects.toBeInstanceOf(InvalidAppendError);
      });
    });

    describe('expected revision', () => {
      it('no_stream: appends to a new stream, refuses an existing one naming both revisions', async () => {
        const streamId = newStreamId();
        await expect(store.appendToStream(streamId, [newEvent()], { expectedRevision: 'no_stream' })).resolves.toEqual(
          expect.objectContaining({ nextExpectedRevision: 0 }),
        );
        const error = await rejection(store.appendToStream(streamId, [newEvent()], { expectedRevision: 'no_stream' }));
        expect(error).toBeInstanceOf(WrongExpectedVersionError);
        expect(error).toMatchObject({ streamId, expected: 'no_stream', actual: 0 });
      });

      it('stream_exists: refuses a new stream, appends to an existing one', async () => {
        const streamId = newStreamId();
        const error = await rejection(
          store.appendToStream(streamId, [newEvent()], { expectedRevision: 'stream_exists' }),
        );
        expect(error).toBeInstanceOf(WrongExpectedVersionError);
        expect(error).toMatchObject({ streamId, expected: 'stream_exists', actual: 'no_stream' });
        expect(await store.streamExists(streamId)).toBe(false);
        await store.appendToStream(streamId, [newEvent()]);
        const result = await store.appendToStream(streamId, [newEvent()], { expectedRevision: 'stream_exists' });
        expect(result.nextExpectedRevision).toBe(1);
      });

      it('a number: appends when it is the last revision, refuses otherwise naming both', async () => {
        const streamId = newStreamId();
        await store.appendToStream(streamId, [newEvent(), newEvent()]);
        const result = await store.appendToStream(streamId, [newEvent()], { expectedRevision: 1 });
        expect(result.nextExpectedRevision).toBe(2);
        for (const stale of [0, 1, 3]) {
          const error = await rejection(store.appendToStream(streamId, [newEvent()], { expectedRevision: stale }));
          expect(error).toBeInstanceOf(WrongExpectedVersionError);
          expect(error).toMatchObject({ streamId, expected: stale, actual: 2 });
        }
        const missing = await rejection(store.appendToStream(newStreamId(), [newEvent()], { expectedRevision: 0 }));
        expect(missing).toMatchObject({ expected: 0, actual: 'no_stream' });
        expect(await store.readStream(streamId)).toHaveLength(3);
      });

      it('any: appends whatever the stream holds', async () => {
        const streamId = newStreamId();
        await store.appendToStream(streamId, [newEvent()], { expectedRevision: 'any' });
        const result = await store.appendToStream(streamId, [newEvent()], { expectedRevision: 'any' });
        expect(result.nextExpectedRevision).toBe(1);
      });

      it('lets exactly one of concurrent appends win each revision', async () => {
        // given racers that all read the same revision, when they append at once, then exactly one wins each round
        const streamId = newStreamId();
        let expected: 'no_stream' | number = 'no_stream';
        for (let round = 0; round < 5; round++) {
          const attempts = await Promise.allSettled(
            Array.from({ length: 6 }, () =>
              store.appendToStream(streamId, [newEvent()], { expectedRevision: expected }),
            ),
          );
          const won = attempts.filter((attempt) => attempt.status === 'fulfilled');
          const lost = attempts.flatMap((attempt) => (attempt.status === 'rejected' ? [attempt.reason] : []));
          expect(won).toHaveLength(1);
          expect(lost).toHaveLength(5);
          for (const reason of lost) expect(reason).toBeInstanceOf(WrongExpectedVersionError);
          expected = round;
        }
        const stored = await store.readStream(streamId);
        expect(stored.map((event) => event.streamRevision)).toEqual([0, 1, 2, 3, 4]);
        expect(verifyChain(stored)).toBeNull();
      });
    });

    describe('idempotency', () => {
      it('answers a retried append with the original result and appends nothing', async () => {
        // given an append that succeeded
        const streamId = newStreamId();
        const events = [newEvent(), newEvent()];
        const original = await store.appendToStream(streamId, events, { expectedRevision: 'no_stream' });
        await store.appendToStream(streamId, [newEvent()]);
        // when the same events are appended again, even with an expectation that no longer holds
        const retry = await store.appendToStream(streamId, events, { expectedRevision: 'no_stream' });
        // then the original revisions, positions and hashes come back, and nothing was appended
        expect(retry).toEqual({ ...original, idempotentReplay: true });
        expect(await store.readStream(streamId)).toHaveLength(3);
      });

      it('answers concurrent copies of one append with one write', async () => {
        const streamId = newStreamId();
        const events = [newEvent()];
        const results = await Promise.all([1, 2, 3].map(() => store.appendToStream(streamId, events)));
        expect(results.filter((result) => !result.idempotentReplay)).toHaveLength(1);
        for (const result of results) expect(result.events).toEqual(results[0]?.events);
        expect(await store.readStream(streamId)).toHaveLength(1);
      });

      it('refuses a retry of which only part is stored', async () => {
        const streamId = newStreamId();
        const stored = newEvent();
        await store.appendToStream(streamId, [stored]);
        const fresh = newEvent();
        const error = await rejection(store.appendToStream(streamId, [stored, fresh]));
        expect(error).toBeInstanceOf(IdempotencyConflictError);
        expect(error).toMatchObject({ streamId, eventIds: [stored.eventId] });
        expect(await store.readStream(streamId)).toHaveLength(1);
      });

      it('refuses a known event id with other content, naming the stored event and the fields that differ', async () => {
        // given an event stored with its data
        const streamId = newStreamId();
        const event = { ...newEvent(), data: { command: 'ls', exitCode: 0, output: { text: 'a', sha256: 'f' } } };
        const [stored] = (await store.appendToStream(streamId, [event])).events;
        // when the same id comes back with other data (a reused key), metadata also changed
        const reused = {
          ...event,
          metadata: { at: 'later' },
          data: { ...event.data, command: 'rm -rf /', exitCode: 1 },
        };
        const error = await rejection(store.appendToStream(streamId, [reused]));
        // then the store refuses it, naming the stored event's position and what differs, and appends nothing
        expect(error).toBeInstanceOf(IdempotencyConflictError);
        expect(error).toMatchObject({
          code: 'EVENT_STORE.IDEMPOTENCY_CONFLICT',
          streamId,
          details: {
            eventId: event.eventId,
            stored: {
              eventId: event.eventId,
              streamId,
              streamRevision: 0,
              globalPosition: stored!.globalPosition.toString(),
              type: event.type,
            },
            differences: ['command', 'exitCode'],
          },
        });
        expect(await rejection(store.appendToStream(streamId, [{ ...event, type: 'Other' }]))).toMatchObject({
          details: { differences: ['type'] },
        });
        expect(await store.readStream(streamId)).toHaveLength(1);
      });

      it('answers a retry whose metadata or derived paths differ as a replay, and whose derived paths are missing as a conflict', async () => {
        const streamId = newStreamId();
        const event = { ...newEvent(), data: { command: 'ls', output: { text: 'abc', sha256: 'f' } } };
        const original = await store.appendToStream(streamId, [event]);
        const retry = {
          ...event,
          metadata: { recordedAt: 'later' },
          data: { command: 'ls', output: { text: 'a', sha256: 'f' } },
        };
        const derivedPaths = ['output.text'];
        expect(await store.appendToStream(streamId, [retry], { derivedPaths })).toEqual({
          ...original,
          idempotentReplay: true,
        });
        const withoutText = { ...event, data: { command: 'ls', output: { sha256: 'f' } } };
        expect(await rejection(store.appendToStream(streamId, [withoutText], { derivedPaths }))).toMatchObject({
          details: { differences: ['output.text'] },
        });
        expect(await store.readStream(streamId)).toHaveLength(1);
      });

      it('refuses an event id that is stored in another stream, naming the stored event and what differs', async () => {
        // given an event stored in one stream
        const first = newStreamId();
        const event = { ...newEvent(), data: { executionId: 'x-1', approvalId: 'a-1', command: 'ls' } };
        const [stored] = (await store.appendToStream(first, [event])).events;
        // when the same id is appended to another stream, with another approval id
        const other = newStreamId();
        const reused = { ...event, data: { ...event.data, approvalId: 'a-2' } };
        const error = await rejection(store.appendToStream(other, [reused]));
        // then it is a conflict naming the stored event's stream and position, and nothing is appended
        expect(error).toBeInstanceOf(IdempotencyConflictError);
        expect(error).toMatchObject({
          streamId: other,
          details: {
            eventId: event.eventId,
            stored: {
              eventId: event.eventId,
              streamId: first,
              streamRevision: 0,
              globalPosition: stored!.globalPosition.toString(),
            },
            differences: ['streamId', 'approvalId'],
          },
        });
        // even with the very same content
        expect(await rejection(store.appendToStream(other, [event]))).toMatchObject({
          details: { differences: ['streamId'] },
        });
        expect(await store.streamExists(other)).toBe(false);
      });

      it('lets exactly one of concurrent appends of one event id to different streams win; the others conflict', async () => {
        const event = newEvent();
        const streams = [newStreamId(), newStreamId(), newStreamId()];
        const outcomes = await Promise.allSettled(streams.map((streamId) => store.appendToStream(streamId, [event])));
        const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
        const lost = outcomes.filter((outcome) => outcome.status === 'rejected');
        expect(won).toHaveLength(1);
        for (const outcome of lost) expect(outcome.reason).toBeInstanceOf(IdempotencyConflictError);
        const existing = await Promise.all(streams.map((streamId) => store.streamExists(streamId)));
        expect(existing.filter(Boolean)).toHaveLength(1);
      });

      it('answers an event stored under one of its alias ids (an older id formula) as a replay of the stored event', async () => {
        // given an event stored under the id its caller derived before
        const streamId = newStreamId();
        const old = { ...newEvent(), data: { executionId: 'x-1', command: 'ls' } };
        const original = await store.appendToStream(streamId, [old]);
        await store.appendToStream(streamId, [newEvent()]);
        // when it is retried under its new id, naming the old one as an alias
        const renamed = { ...old, eventId: randomUUID(), aliasEventIds: [old.eventId] };
        const retry = await store.appendToStream(streamId, [renamed], { expectedRevision: 'no_stream' });
        // then the stored event is the answer and nothing is appended
        expect(retry).toEqual({ ...original, idempotentReplay: true });
        // and the alias with other content is a conflict naming the stored event
        const changed = { ...renamed, data: { ...old.data, command: 'rm' } };
        expect(await rejection(store.appendToStream(streamId, [changed]))).toMatchObject({
          details: { eventId: old.eventId, stored: { streamId, streamRevision: 0 }, differences: ['command'] },
        });
        // an alias known nowhere changes nothing: the event is appended under its own id
        const fresh = { ...newEvent(), aliasEventIds: [randomUUID()] };
        const appended = await store.appendToStream(streamId, [fresh]);
        expect(appended.idempotentReplay).toBe(false);
        expect(appended.events[0]!.eventId).toBe(fresh.eventId);
        const read = await store.readStream(streamId);
        expect(read.map((event) => event.eventId)).toEqual([old.eventId, expect.any(String), fresh.eventId]);
        expect(read[2]).not.toHaveProperty('aliasEventIds');
      });
    });

    describe('readStream', () => {
      it('reads forwards from a revision, inclusive, up to maxCount', async () => {
        const streamId = await streamOf(5);
        expect(revisions(await store.readStream(streamId))).toEqual([0, 1, 2, 3, 4]);
        expect(revisions(await store.readStream(streamId, { fromRevision: 2 }))).toEqual([2, 3, 4]);
        expect(revisions(await store.readStream(streamId, { fromRevision: 1, maxCount: 2 }))).toEqual([1, 2]);
        expect(await store.readStream(streamId, { fromRevision: 5 })).toEqual([]);
      });

      it('reads backwards from the end, or from a revision inclusive, up to maxCount', async () => {
        const streamId = await streamOf(5);
        const direction = 'backwards';
        expect(revisions(await store.readStream(streamId, { direction }))).toEqual([4, 3, 2, 1, 0]);
        expect(revisions(await store.readStream(streamId, { direction, maxCount: 2 }))).toEqual([4, 3]);
        expect(revisions(await store.readStream(streamId, { direction, fromRevision: 2 }))).toEqual([2, 1, 0]);
        expect(revisions(await store.readStream(streamId, { direction, fromRevision: 3, maxCount: 1 }))).toEqual([3]);
      });

      it('throws StreamNotFoundError for a stream without events', async () => {
        const streamId = newStreamId();
        const error = await rejection(store.readStream(streamId));
        expect(error).toBeInstanceOf(StreamNotFoundError);
        expect(error).toMatchObject({ streamId });
      });

      it('tells whether a stream exists', async () => {
        const streamId = newStreamId();
        expect(await store.streamExists(streamId)).toBe(false);
        await store.appendToStream(streamId, [newEvent()]);
        expect(await store.streamExists(streamId)).toBe(true);
      });
    });

    describe('readAll', () => {
      it('reads in global order after a position, exclusive, up to maxCount', async () => {
        // given a known start and events appended to two streams of one category
        const category = newCategory();
        const start = await positionNow();
        const a = await store.appendToStream(`${category}-a`, [newEvent('A1'), newEvent('A2')]);
        const b = await store.appendToStream(`${category}-b`, [newEvent('B1')]);
        const ours = { streamPrefixes: [`${category}-`] };
        // when read from the start, then they come in append order
        const all = await store.readAll({ fromPosition: start, filter: ours });
        expect(all.map((event) => event.type)).toEqual(['A1', 'A2', 'B1']);
        expectAscending(all.map((event) => event.globalPosition));
        expect(all.map((event) => event.globalPosition)).toEqual([...positions(a), ...positions(b)]);
        // and fromPosition is exclusive, maxCount caps the page
        const afterFirst = await store.readAll({ fromPosition: all[0]!.globalPosition, filter: ours });
        expect(afterFirst.map((event) => event.type)).toEqual(['A2', 'B1']);
        const one = await store.readAll({ fromPosition: start, maxCount: 1, filter: ours });
        expect(one.map((event) => event.type)).toEqual(['A1']);
        expect(await store.readAll({ fromPosition: b.lastPosition, filter: ours })).toEqual([]);
      });

      it('reads everything without a filter, events of other streams included', async () => {
        const start = await positionNow();
        const first = await store.appendToStream(newStreamId(), [newEvent()]);
        const second = await store.appendToStream(newStreamId(), [newEvent()]);
        const all = await store.readAll({ fromPosition: start });
        const seen = all.map((event) => event.globalPosition);
        expectAscending(seen);
        expect(seen).toEqual(expect.arrayContaining([first.lastPosition, second.lastPosition]));
        expect(all.every((event) => event.globalPosition > start)).toBe(true);
      });

      it('filters by event type and by stream prefix', async () => {
        const category = newCategory();
        const start = await positionNow();
        await store.appendToStream(`${category}-1`, [newEvent('Granted'), newEvent('Logged')]);
        await store.appendToStream(`${category}x-2`, [newEvent('Granted')]);
        await store.appendToStream(`${category}-3`, [newEvent('Revoked')]);
        const typed = await store.readAll({
          fromPosition: start,
          filter: { eventTypes: ['Granted', 'Revoked'], streamPrefixes: [`${category}-`] },
        });
        expect(typed.map((event) => [event.streamId, event.type])).toEqual([
          [`${category}-1`, 'Granted'],
          [`${category}-3`, 'Revoked'],
        ]);
        const prefixed = await store.readAll({
          fromPosition: start,
          filter: { streamPrefixes: [`${category}-`, `${category}x-`] },
        });
        expect(prefixed).toHaveLength(4);
        const typeOnly = await store.readAll({ fromPosition: start, filter: { eventTypes: ['Logged'] } });
        expect(typeOnly.map((event) => event.streamId)).toEqual([`${category}-1`]);
      });
    });

    describe('subscribeToAll', () => {
      it('catches up, then delivers live events in order, and ends when closed', async () => {
        // given events appended before subscribing
        const category = newCategory();
        const start = await positionNow();
        await store.appendToStream(`${category}-1`, [newEvent('Before1'), newEvent('Before2')]);
        const subscription = store.subscribeToAll({
          fromPosition: start,
          filter: { streamPrefixes: [`${category}-`] },
        });
        const iterator = subscription[Symbol.asyncIterator]();
        try {
          // when it catches up, then it gets them
          const caughtUp = await take(iterator, 2);
          expect(caughtUp.map((event) => event.type)).toEqual(['Before1', 'Before2']);
          expect(subscription.isAlive).toBe(true);
          expect(subscription.position).toBe(caughtUp[1]?.globalPosition);
          // and events appended afterwards arrive live, in order
          const live = await store.appendToStream(`${category}-2`, [newEvent('Live1')]);
          await store.appendToStream(`${category}-1`, [newEvent('Live2')]);
          const delivered = await take(iterator, 2);
          expect(delivered.map((event) => event.type)).toEqual(['Live1', 'Live2']);
          expect(delivered[0]?.globalPosition).toBe(live.lastPosition);
        } finally {
          await subscription.close();
        }
        // and once closed, the iteration ends
        expect(subscription.isAlive).toBe(false);
        await expect(iterator.next()).resolves.toEqual({ done: true, value: undefined });
      });

      it('ends a pending iteration when closed', async () => {
        const subscription = store.subscribeToAll({ fromPosition: await positionNow() });
        const pending = subscription[Symbol.asyncIterator]().next();
        await subscription.close();
        await expect(pending).resolves.toMatchObject({ done: true });
      });

      it('closes when the consumer leaves a for-await loop', async () => {
        const category = newCategory();
        const start = await positionNow();
        await store.appendToStream(`${category}-1`, [newEvent(), newEvent()]);
        const subscription = store.subscribeToAll({
          fromPosition: start,
          filter: { streamPrefixes: [`${category}-`] },
        });
        for await (const event of subscription) {
          expect(event.streamId).toBe(`${category}-1`);
          break;
        }
        expect(subscription.isAlive).toBe(false);
      });

      it('shows concurrent writers to a subscriber with no gap, each event once, in order', async () => {
        // given a subscription running while 8 writers append 200 times each to streams of their own
        const category = newCategory();
        const writers = 8;
        const appendsPerWriter = 200;
        const start = await positionNow();
        const subscription = store.subscribeToAll({
          fromPosition: start,
          filter: { streamPrefixes: [`${category}-`] },
        });
        const received = take(subscription[Symbol.asyncIterator](), writers * appendsPerWriter, 30_000);
        // when they all append at once
        const written = await Promise.all(
          Array.from({ length: writers }, async (_, writer) => {
            const results: AppendResult[] = [];
            for (let i = 0; i < appendsPerWriter; i++) {
              results.push(
                await store.appendToStream(`${category}-${writer}`, [newEvent('Written', { writer, i })], {
                  expectedRevision: i === 0 ? 'no_stream' : i - 1,
                }),
              );
            }
            return results;
          }),
        );
        // then the subscriber saw every event exactly once, in strictly increasing position order
        const seen = await received.finally(() => subscription.close());
        expectAscending(seen.map((event) => event.globalPosition));
        const expected = written.flat().map((result) => result.lastPosition);
        expect(seen.map((event) => event.globalPosition)).toEqual([...expected].sort(compareBigInt));
        expect(new Set(seen.map((event) => event.eventId)).size).toBe(writers * appendsPerWriter);
        // and readAll agrees
        const read = await store.readAll({ fromPosition: start, filter: { streamPrefixes: [`${category}-`] } });
        expect(read.map((event) => event.eventId)).toEqual(seen.map((event) => event.eventId));
      });
    });

    async function positionNow(): Promise<bigint> {
      const marker = await store.appendToStream(`contract_marker-${randomUUID()}`, [newEvent('Marker')]);
      return marker.lastPosition;
    }

    async function streamOf(count: number): Promise<string> {
      const streamId = newStreamId();
      await store.appendToStream(
        streamId,
        Array.from({ length: count }, (_, i) => newEvent('Numbered', { i })),
      );
      return streamId;
    }
  });
}

function newCategory(): string {
  return `contract_${randomUUID().replaceAll('-', '')}`;
}

function newStreamId(): string {
  return `${newCategory()}-1`;
}

function newEvent(type = 'Happened', data: Record<string, unknown> = {}): NewEvent {
  return { eventId: randomUUID(), type, data, metadata: { actor: 'contract' } };
}

function revisions(events: RecordedEvent[]): number[] {
  return events.map((event) => event.streamRevision);
}

function positions(result: AppendResult): bigint[] {
  return result.events.map((event) => event.globalPosition);
}

function compareBigInt(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function expectAscending(values: bigint[]): void {
  values.slice(1).forEach((value, i) => {
    if (value <= values[i]!) throw new Error(`Positions not strictly ascending at ${i + 1}: ${values.join(', ')}`);
  });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('Expected the promise to reject');
}

/** The next `count` events, or an error naming how many arrived before `timeoutMs`. */
async function take(iterator: AsyncIterator<RecordedEvent>, count: number, timeoutMs = 5000): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Received ${events.length} of ${count} events within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    while (events.length < count) {
      const next = await Promise.race([iterator.next(), timeout]);
      if (next.done) throw new Error(`The subscription ended after ${events.length} of ${count} events`);
      events.push(next.value);
    }
    return events;
  } finally {
    clearTimeout(timer);
  }
}
