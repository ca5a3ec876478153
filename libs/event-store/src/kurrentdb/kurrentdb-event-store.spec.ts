import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { verifyChain } from '@audit-ledger/integrity';
import {
  type AllStreamSubscription,
  type AppendResult as KurrentAppendResult,
  type AppendStreamState,
  type EventData,
  type Filter,
  type KurrentDBClient,
  type ReadPosition,
  type ReadRevision,
  StreamNotFoundError as KurrentStreamNotFoundError,
  UnavailableError,
  WrongExpectedVersionError as KurrentWrongExpectedVersionError,
} from '@kurrent/kurrentdb-client';
import {
  EventStoreUnavailableError,
  IdempotencyConflictError,
  InvalidAppendError,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '../errors.js';
import { type NewEvent, type RecordedEvent } from '../event-store.port.js';
import { UnreadableEventError } from './kurrentdb-event-codec.js';
import { KurrentDbEventStore } from './kurrentdb-event-store.js';
import { describeEventStoreContract } from '../../test/event-store.contract.js';

/**
 * The adapter's own logic (hash chain, idempotency, expected revisions, retries, paging, filters, subscriptions)
 * against an in-memory stand-in for the 1.x client that follows KurrentDB's documented behaviour: revisions from 0,
 * $all read inclusively from a position, subscriptions exclusively, one server-side filter, typed client errors.
 * The shared contract runs on it too (end of file). What only a real server can show (the client's wire behaviour,
 * the server's regex filters, positions, timing) is left to kurrentdb-event-store.int-spec.ts.
 */

interface FakeRecord {
  streamId: string;
  id: string;
  type: string;
  revision: bigint;
  data: string;
  metadata: string;
  created: Date;
  position: bigint;
}

type Live = (record: FakeRecord) => void;

function unavailableStatus(): Error {
  return Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 });
}

class FakeKurrentDb {
  readonly records: FakeRecord[] = [];
  readonly subscriptions = new Set<{ stream: PassThrough; live: Live }>();
  unavailable = false;
  /** Runs before each append is applied, i.e. between an adapter's read and its write. */
  beforeAppend?: () => Promise<void>;
  /** Appends of ledger events (claims of event ids not counted). */
  appendCalls = 0;
  #position = 1_000n;

  client(): KurrentDBClient {
    const db = this; // eslint-disable-line @typescript-eslint/no-this-alias -- the fake's methods close over it
    const fake = {
      async appendToStream(
        streamName: string,
        events: EventData | EventData[],
        { streamState = 'any' }: { streamState?: AppendStreamState } = {},
      ): Promise<KurrentAppendResult> {
        if (!streamName.startsWith('ledger_event_id-')) db.appendCalls += 1;
        await db.beforeAppend?.();
        if (db.unavailable) throw unavailableStatus();
        return db.append(streamName, Array.isArray(events) ? events : [events], streamState);
      },
      readStream(
        streamName: string,
        options: { direction?: string; fromRevision?: ReadRevision; maxCount?: number | bigint } = {},
      ) {
        return db.readStream(streamName, options);
      },
      readAll(options: { fromPosition?: ReadPosition; maxCount?: number | bigint; filter?: Filter } = {}) {
        return db.readAll(options);
      },
      subscribeToAll(options: { fromPosition?: ReadPosition; filter?: Filter } = {}) {
        return db.subscribe(options);
      },
      async dispose() {},
    };
    return fake as unknown as KurrentDBClient;
  }

  /** Writes as a foreign producer would, bypassing the adapter. */
  writeRaw(streamId: string, type: string, data: unknown, metadata: unknown = {}): void {
    const revision = BigInt(this.records.filter((record) => record.streamId === streamId).length);
    this.store({
      streamId,
      id: randomUUID(),
      type,
      revision,
      data: JSON.stringify(data),
      metadata: metadata === undefined ? '' : JSON.stringify(metadata),
    });
  }

  dropSubscriptions(): void {
    for (const { stream } of this.subscriptions) stream.emit('error', new UnavailableError());
    this.subscriptions.clear();
  }

  private append(streamName: string, events: EventData[], state: AppendStreamState): KurrentAppendResult {
    const stream = this.records.filter((record) => record.streamId === streamName);
    const current = stream.length > 0 ? stream[stream.length - 1]!.revision : 'no_stream';
    const accepted =
      state === 'any' ||
      (state === 'no_stream' && current === 'no_stream') ||
      (state === 'stream_exists' && current !== 'no_stream') ||
      current === state;
    if (!accepted) {
      throw new KurrentWrongExpectedVersionError(undefined, { streamName, expected: state, current });
    }
    let revision = current === 'no_stream' ? -1n : current;
    for (const event of events) {
      revision += 1n;
      const { id, type, data, metadata } = event;
      this.store({
        streamId: streamName,
        id,
        type,
        revision,
        data: JSON.stringify(data),
        metadata: metadata === undefined ? '' : JSON.stringify(metadata),
      });
    }
    return {
      success: true,
      nextExpectedRevision: revision,
      position: { commit: this.#position, prepare: this.#position },
    };
  }

  private store(record: Omit<FakeRecord, 'created' | 'position'>): void {
    this.#position += 137n; // positions are byte offsets in the log: increasing, not contiguous
    const stored = { ...record, created: new Date(), position: this.#position };
    this.records.push(stored);
    for (const { live } of this.subscriptions) live(stored);
  }

  private async *readStream(
    streamName: string,
    {
      direction = 'forwards',
      fromRevision = 'start',
      maxCount = Number.MAX_SAFE_INTEGER,
    }: {
      direction?: string;
      fromRevision?: ReadRevision;
      maxCount?: number | bigint;
    },
  ) {
    await Promise.resolve();
    if (this.unavailable) throw new UnavailableError();
    const stream = this.records.filter((record) => record.streamId === streamName);
    if (stream.length === 0) throw new KurrentStreamNotFoundError(undefined, streamName);
    const last = stream[stream.length - 1]!.revision;
    const selected =
      direction === 'forwards'
        ? stream.filter(
            (record) =>
              record.revision >= (fromRevision === 'start' ? 0n : fromRevision === 'end' ? last + 1n : fromRevision),
          )
        : stream
            .filter(
              (record) =>
                record.revision <= (fromRevision === 'end' ? last : fromRevision === 'start' ? 0n : fromRevision),
            )
            .reverse();
    for (const record of selected.slice(0, Number(maxCount))) yield resolved(record);
  }

  private async *readAll({
    fromPosition = 'start',
    maxCount = Number.MAX_SAFE_INTEGER,
    filter,
  }: {
    fromPosition?: ReadPosition;
    maxCount?: number | bigint;
    filter?: Filter;
  }) {
    await Promise.resolve();
    if (this.unavailable) throw new UnavailableError();
    const from = fromPosition === 'start' ? 0n : fromPosition === 'end' ? this.#position + 1n : fromPosition.commit;
    const selected = this.records.filter((record) => record.position >= from && matches(filter, record));
    for (const record of selected.slice(0, Number(maxCount))) yield resolved(record);
  }

  private subscribe({ fromPosition = 'start', filter }: { fromPosition?: ReadPosition; filter?: Filter }) {
    const stream = Object.assign(new PassThrough({ objectMode: true }), {
      unsubscribe: async () => {
        this.subscriptions.delete(entry);
      },
    });
    const after = fromPosition === 'start' ? -1n : fromPosition === 'end' ? this.#position : fromPosition.commit;
    const live: Live = (record) => {
      if (record.position > after && matches(filter, record)) stream.write(resolved(record));
    };
    const entry = { stream, live };
    for (const record of this.records) live(record);
    this.subscriptions.add(entry);
    setImmediate(() => stream.emit('confirmation'));
    return stream as unknown as AllStreamSubscription;
  }
}

function matches(filter: Filter | undefined, record: FakeRecord): boolean {
  if (!filter) return true;
  const subject = filter.filterOn === 'eventType' ? record.type : record.streamId;
  if ('regex' in filter) return new RegExp(filter.regex).test(subject);
  return filter.prefixes.some((prefix) => subject.startsWith(prefix));
}

function resolved(record: FakeRecord) {
  return {
    event: {
      streamId: record.streamId,
      id: record.id,
      type: record.type,
      revision: record.revision,
      created: record.created,
      isJson: true,
      data: JSON.parse(record.data) as unknown,
      metadata: record.metadata === '' ? undefined : (JSON.parse(record.metadata) as unknown),
      position: { commit: record.position, prepare: record.position },
    },
    commitPosition: record.position,
  };
}

const newEvent = (type = 'Happened', data: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}) => ({
  eventId: randomUUID(),
  type,
  data,
  metadata,
});

const events = (count: number, type = 'Happened'): NewEvent[] =>
  Array.from({ length: count }, (_, i) => newEvent(type, { i }));

async function take(iterator: AsyncIterator<RecordedEvent>, count: number): Promise<RecordedEvent[]> {
  const taken: RecordedEvent[] = [];
  while (taken.length < count) {
    const next = await iterator.next();
    if (next.done) break;
    taken.push(next.value);
  }
  return taken;
}

describe('KurrentDbEventStore (against an in-memory stand-in for the client)', () => {
  let db: FakeKurrentDb;
  let store: KurrentDbEventStore;

  beforeEach(() => {
    db = new FakeKurrentDb();
    store = KurrentDbEventStore.fromClient(db.client());
  });

  afterEach(() => store.close());

  describe('appendToStream', () => {
    it('starts a stream at revision 0 and chains hashes from the genesis hash', async () => {
      const appended = [newEvent('Opened', { a: 1, skipped: undefined }, { actor: 'ann' }), ...events(2)];
      const result = await store.appendToStream('approval-1', appended, { expectedRevision: 'no_stream' });

      const read = await store.readStream('approval-1');
      expect(read.map((event) => event.streamRevision)).toEqual([0, 1, 2]);
      expect(verifyChain(read)).toBeNull();
      expect(read[0]).toMatchObject({ type: 'Opened', data: { a: 1 }, metadata: { actor: 'ann' } });
      expect(read[0]!.metadata).toEqual({ actor: 'ann' });
      expect(result).toEqual({
        streamId: 'approval-1',
        nextExpectedRevision: 2,
        lastPosition: read[2]!.globalPosition,
        events: read.map(({ eventId, streamRevision, globalPosition, hash }) => ({
          eventId,
          streamRevision,
          globalPosition,
          hash,
        })),
        idempotentReplay: false,
      });
    });

    it('continues the chain across appends', async () => {
      await store.appendToStream('approval-1', events(2));
      await store.appendToStream('approval-1', events(2), { expectedRevision: 1 });
      const read = await store.readStream('approval-1');
      expect(read.map((event) => event.streamRevision)).toEqual([0, 1, 2, 3]);
      expect(verifyChain(read)).toBeNull();
    });

    it('returns the original result for a retried append and appends nothing, even after the stream moved on', async () => {
      const batch = events(2);
      const original = await store.appendToStream('approval-1', batch, { expectedRevision: 'no_stream' });
      await store.appendToStream('approval-1', events(1));
      const calls = db.appendCalls;

      const retried = await store.appendToStream('approval-1', batch, { expectedRevision: 'no_stream' });

      expect(retried).toEqual({ ...original, idempotentReplay: true });
      expect(db.appendCalls).toBe(calls);
      expect(await store.readStream('approval-1')).toHaveLength(3);
    });

    it('refuses a stored event id with other data, naming its position and the fields; metadata is not compared', async () => {
      const event = { ...newEvent(), data: { command: 'ls', output: { text: 'abc', sha256: 'f' } } };
      const original = await store.appendToStream('approval-1', [event]);
      const calls = db.appendCalls;
      const other = { ...event, data: { command: 'rm', output: { text: 'a', sha256: 'f' } }, metadata: { x: 1 } };
      await expect(store.appendToStream('approval-1', [other])).rejects.toMatchObject({
        code: 'EVENT_STORE.IDEMPOTENCY_CONFLICT',
        details: {
          eventId: event.eventId,
          stored: { streamId: 'approval-1', globalPosition: original.events[0]!.globalPosition.toString() },
          differences: ['command', 'output.text'],
        },
      });
      const retry = { ...other, data: { ...event.data, output: { text: 'a', sha256: 'f' } } };
      expect(await store.appendToStream('approval-1', [retry], { derivedPaths: ['output.text'] })).toEqual({
        ...original,
        idempotentReplay: true,
      });
      expect(db.appendCalls).toBe(calls);
    });

    it('matches event ids case-insensitively, as KurrentDB stores them lower-case', async () => {
      const event = { ...newEvent(), eventId: randomUUID().toUpperCase() };
      const original = await store.appendToStream('approval-1', [event]);
      const retried = await store.appendToStream('approval-1', [event]);
      expect(retried.idempotentReplay).toBe(true);
      expect(retried.events).toEqual(original.events);
    });

    it('refuses a retry of which only part is stored', async () => {
      const [first, second] = events(2);
      await store.appendToStream('approval-1', [first!]);
      await expect(store.appendToStream('approval-1', [first!, second!])).rejects.toBeInstanceOf(
        IdempotencyConflictError,
      );
    });

    it('refuses an event id stored in another stream, and creates nothing', async () => {
      const event = newEvent();
      await store.appendToStream('approval-1', [event]);
      const attempt = store.appendToStream('approval-2', [newEvent(), event]);
      await expect(attempt).rejects.toBeInstanceOf(IdempotencyConflictError);
      await expect(attempt).rejects.toMatchObject({ streamId: 'approval-2', eventIds: [event.eventId] });
      expect(await store.streamExists('approval-2')).toBe(false);
    });

    it('refuses one event id appended to two streams at once, from two processes', async () => {
      const other = KurrentDbEventStore.fromClient(db.client());
      const event = newEvent();
      const outcomes = await Promise.allSettled([
        store.appendToStream('approval-1', [event]),
        other.appendToStream('approval-2', [event]),
      ]);
      expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
      const [refused] = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
      expect(refused).toBeInstanceOf(IdempotencyConflictError);
    });

    it('appends events whose ids were claimed by an append that was then refused', async () => {
      await store.appendToStream('approval-1', events(1));
      const batch = events(2);
      await expect(store.appendToStream('approval-1', batch, { expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(
        WrongExpectedVersionError,
      );
      const result = await store.appendToStream('approval-1', batch, { expectedRevision: 0 });
      expect(result).toMatchObject({ nextExpectedRevision: 2, idempotentReplay: false });
      expect(verifyChain(await store.readStream('approval-1'))).toBeNull();
    });

    it.each([
      ['no_stream', 'an existing stream', 0],
      [5, 'an existing stream at another revision', 0],
      ['stream_exists', 'a missing stream', 'no_stream'],
      [0, 'a missing stream', 'no_stream'],
    ] as const)('refuses expectedRevision %p on %s', async (expectedRevision, _, actual) => {
      if (actual !== 'no_stream') await store.appendToStream('approval-1', events(1));
      const attempt = store.appendToStream('approval-1', events(1), { expectedRevision });
      await expect(attempt).rejects.toBeInstanceOf(WrongExpectedVersionError);
      await expect(attempt).rejects.toMatchObject({ streamId: 'approval-1', expected: expectedRevision, actual });
    });

    it('serialises appends to one stream within the process', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, () => store.appendToStream('session-1', events(2))));
      const read = await store.readStream('session-1');
      expect(read).toHaveLength(40);
      expect(verifyChain(read)).toBeNull();
      expect(new Set(results.map((result) => result.nextExpectedRevision)).size).toBe(20);
      expect(db.appendCalls).toBe(20);
    });

    it("re-plans an 'any' append when another process appended between its read and its write", async () => {
      const other = KurrentDbEventStore.fromClient(db.client());
      await store.appendToStream('approval-1', events(1));
      let interfered = false;
      db.beforeAppend = async () => {
        if (interfered) return;
        interfered = true;
        await other.appendToStream('approval-1', events(1));
      };

      const result = await store.appendToStream('approval-1', events(1));

      expect(result.nextExpectedRevision).toBe(2);
      expect(db.appendCalls).toBe(4); // the first, the other process's, the refused one, the re-planned one
      const read = await store.readStream('approval-1');
      expect(read).toHaveLength(3);
      expect(verifyChain(read)).toBeNull();
    });

    it('reports the new revision when another process moved the stream past an expected revision', async () => {
      const other = KurrentDbEventStore.fromClient(db.client());
      await store.appendToStream('approval-1', events(1));
      let interfered = false;
      db.beforeAppend = async () => {
        if (interfered) return;
        interfered = true;
        await other.appendToStream('approval-1', events(1));
      };

      await expect(store.appendToStream('approval-1', events(1), { expectedRevision: 0 })).rejects.toMatchObject({
        code: 'EVENT_STORE.WRONG_EXPECTED_VERSION',
        expected: 0,
        actual: 1,
      });
      expect(verifyChain(await store.readStream('approval-1'))).toBeNull();
    });

    it('returns the original result when another process stored the same events first', async () => {
      const other = KurrentDbEventStore.fromClient(db.client());
      const batch = events(2);
      let original: Awaited<ReturnType<KurrentDbEventStore['appendToStream']>> | undefined;
      let interfered = false;
      db.beforeAppend = async () => {
        if (interfered) return;
        interfered = true;
        original = await other.appendToStream('approval-1', batch);
      };

      const result = await store.appendToStream('approval-1', batch, { expectedRevision: 'no_stream' });

      expect(result).toEqual({ ...original, idempotentReplay: true });
      expect(await store.readStream('approval-1')).toHaveLength(2);
    });

    it.each([
      ['a non-UUID event id', { ...newEvent(), eventId: 'e-1' }],
      ['a $ event type', newEvent('$metadata')],
      ['the claim event type', newEvent('LedgerEventIdClaimed')],
      ['the reserved $ledger metadata key', newEvent('Happened', {}, { $ledger: 1 })],
    ])('refuses %s', async (_, event) => {
      await expect(store.appendToStream('approval-1', [event])).rejects.toBeInstanceOf(InvalidAppendError);
    });

    it('refuses a $ stream, a claim stream and an empty append', async () => {
      await expect(store.appendToStream('$settings', events(1))).rejects.toBeInstanceOf(InvalidAppendError);
      const claim = `ledger_event_id-${randomUUID()}`;
      await expect(store.appendToStream(claim, events(1))).rejects.toBeInstanceOf(InvalidAppendError);
      await expect(store.appendToStream('approval-1', [])).rejects.toBeInstanceOf(InvalidAppendError);
    });

    it('maps an unreachable server to EventStoreUnavailableError', async () => {
      db.unavailable = true;
      await expect(store.appendToStream('approval-1', events(1))).rejects.toBeInstanceOf(EventStoreUnavailableError);
      await expect(store.readStream('approval-1')).rejects.toBeInstanceOf(EventStoreUnavailableError);
      await expect(store.readAll()).rejects.toBeInstanceOf(EventStoreUnavailableError);
    });
  });

  describe('readStream and streamExists', () => {
    beforeEach(() => store.appendToStream('approval-1', events(5)));

    it('reads from a revision, backwards, and at most maxCount', async () => {
      const revisions = async (options: Parameters<KurrentDbEventStore['readStream']>[1]) =>
        (await store.readStream('approval-1', options)).map((event) => event.streamRevision);
      expect(await revisions({ fromRevision: 3 })).toEqual([3, 4]);
      expect(await revisions({ direction: 'backwards' })).toEqual([4, 3, 2, 1, 0]);
      expect(await revisions({ direction: 'backwards', fromRevision: 2, maxCount: 2 })).toEqual([2, 1]);
      expect(await revisions({ maxCount: 0 })).toEqual([]);
      expect(await revisions({ fromRevision: 9 })).toEqual([]);
    });

    it('throws StreamNotFoundError for a stream with no events', async () => {
      await expect(store.readStream('approval-2')).rejects.toEqual(new StreamNotFoundError('approval-2'));
      await expect(store.readStream('approval-2', { maxCount: 0 })).rejects.toBeInstanceOf(StreamNotFoundError);
      expect(await store.streamExists('approval-1')).toBe(true);
      expect(await store.streamExists('approval-2')).toBe(false);
    });

    it('refuses to read an event it did not write rather than return it unverifiable', async () => {
      db.writeRaw('approval-1', 'Forged', { by: 'someone' });
      await expect(store.readStream('approval-1')).rejects.toBeInstanceOf(UnreadableEventError);
      await expect(store.appendToStream('approval-1', events(1))).rejects.toBeInstanceOf(UnreadableEventError);
    });
  });

  describe('readAll', () => {
    it('reads after fromPosition (exclusive), skipping system events and claims, up to maxCount', async () => {
      db.writeRaw('$settings', '$metadata', {});
      await store.appendToStream('approval-1', events(3));
      db.writeRaw('approval-1-meta', '$metadata', {});
      await store.appendToStream('session-1', events(2));

      const all = await store.readAll();
      expect(db.records.filter((record) => record.streamId.startsWith('ledger_event_id-'))).toHaveLength(5);
      expect(all.map((event) => `${event.streamId}@${event.streamRevision}`)).toEqual([
        'approval-1@0',
        'approval-1@1',
        'approval-1@2',
        'session-1@0',
        'session-1@1',
      ]);
      const positions = all.map((event) => event.globalPosition);
      expect([...positions].sort((a, b) => (a < b ? -1 : 1))).toEqual(positions);

      const after = await store.readAll({ fromPosition: all[1]!.globalPosition, maxCount: 2 });
      expect(after).toEqual(all.slice(2, 4));
    });

    it('pages through long logs', async () => {
      for (let i = 0; i < 6; i += 1) await store.appendToStream(`session-${i}`, events(200));
      const all = await store.readAll();
      expect(all).toHaveLength(1200);
      expect(await store.readAll({ fromPosition: all[599]!.globalPosition })).toEqual(all.slice(600));
      expect(await store.readAll({ fromPosition: all[1199]!.globalPosition })).toEqual([]);
      expect(await store.readAll({ maxCount: 700 })).toEqual(all.slice(0, 700));
    });

    it('filters by event type and stream prefix together', async () => {
      await store.appendToStream('approval-1', [newEvent('ApprovalGranted'), newEvent('Noted')]);
      await store.appendToStream('session-1', [newEvent('ApprovalGranted'), newEvent('ExecutionLogged')]);
      await store.appendToStream('approval-2', [newEvent('Approval.Granted+')]);

      const pick = async (filter: Parameters<KurrentDbEventStore['readAll']>[0]) =>
        (await store.readAll(filter)).map((event) => `${event.streamId}:${event.type}`);
      expect(await pick({ filter: { eventTypes: ['ApprovalGranted'] } })).toEqual([
        'approval-1:ApprovalGranted',
        'session-1:ApprovalGranted',
      ]);
      expect(await pick({ filter: { eventTypes: ['Approval.Granted+'] } })).toEqual(['approval-2:Approval.Granted+']);
      expect(await pick({ filter: { streamPrefixes: ['session-'] } })).toEqual([
        'session-1:ApprovalGranted',
        'session-1:ExecutionLogged',
      ]);
      expect(await pick({ filter: { eventTypes: ['ApprovalGranted'], streamPrefixes: ['approval-'] } })).toEqual([
        'approval-1:ApprovalGranted',
      ]);
    });
  });

  describe('subscribeToAll', () => {
    it('catches up after fromPosition, goes live, and ends on close', async () => {
      const first = await store.appendToStream('approval-1', events(3));
      const subscription = store.subscribeToAll({ fromPosition: first.events[0]!.globalPosition });
      const iterator = subscription[Symbol.asyncIterator]();

      const caughtUp = await take(iterator, 2);
      expect(caughtUp.map((event) => event.streamRevision)).toEqual([1, 2]);
      expect(subscription.position).toBe(first.lastPosition);

      const pending = take(iterator, 1);
      const live = await store.appendToStream('session-1', events(1));
      expect((await pending)[0]?.globalPosition).toBe(live.lastPosition);
      expect(subscription.isAlive).toBe(true);

      const waiting = iterator.next();
      await subscription.close();
      expect(await waiting).toEqual({ done: true, value: undefined });
      expect(subscription.isAlive).toBe(false);
    });

    it('applies filters and skips system events', async () => {
      db.writeRaw('$stats-1', '$statsCollected', {});
      await store.appendToStream('approval-1', [newEvent('ApprovalGranted'), newEvent('Noted')]);
      await store.appendToStream('session-1', [newEvent('ApprovalGranted')]);
      const subscription = store.subscribeToAll({
        filter: { eventTypes: ['ApprovalGranted'], streamPrefixes: ['approval-'] },
      });
      const iterator = subscription[Symbol.asyncIterator]();
      const [only] = await take(iterator, 1);
      expect(only).toMatchObject({ streamId: 'approval-1', type: 'ApprovalGranted' });
      await store.appendToStream('approval-2', [newEvent('Noted'), newEvent('ApprovalGranted')]);
      expect((await take(iterator, 1))[0]).toMatchObject({ streamId: 'approval-2', streamRevision: 1 });
      await subscription.close();
    });

    it('resubscribes after the last delivered event when the server drops it, without duplicates', async () => {
      await store.appendToStream('approval-1', events(2));
      const subscription = store.subscribeToAll();
      const iterator = subscription[Symbol.asyncIterator]();
      expect(await take(iterator, 2)).toHaveLength(2);

      db.dropSubscriptions();
      await store.appendToStream('approval-1', events(2));
      const resumed = await take(iterator, 2);

      expect(resumed.map((event) => event.streamRevision)).toEqual([2, 3]);
      expect(subscription.isAlive).toBe(true);
      await subscription.close();
    });

    it('is closed by closing the store', async () => {
      const subscription = store.subscribeToAll();
      const waiting = subscription[Symbol.asyncIterator]().next();
      await store.close();
      expect(await waiting).toEqual({ done: true, value: undefined });
      await expect(store.readAll()).rejects.toBeInstanceOf(EventStoreUnavailableError);
    });
  });
});

// The shared contract on the stand-in too: it checks the adapter's logic wherever no KurrentDB server runs.
describeEventStoreContract('KurrentDbEventStore on an in-memory stand-in for the client', async () => {
  const store = KurrentDbEventStore.fromClient(new FakeKurrentDb().client());
  return { store, teardown: () => store.close() };
});
