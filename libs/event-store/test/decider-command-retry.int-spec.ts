import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import {
  CONFLICT_RETRY_POLICY,
  ConflictRetriesExhaustedError,
  handleDeciderCommand,
  type DeciderCommand,
} from '../src/decider-command/index.js';
import { WrongExpectedVersionError } from '../src/errors.js';
import type { RecordedEvent } from '../src/event-store.port.js';
import { PostgresEventStore } from '../src/postgres/postgres-event-store.js';
import { newEvent } from './postgres-test-support.js';

/**
 * The one conflict retry policy of decider commands, against the PostgreSQL store: a second store (another pool, as
 * another ledger process would hold) writes to the stream between the handler's read and its append.
 */
describe('handleDeciderCommand retries a conflicting append under the conflict retry policy', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let competitor: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.connect({ connectionString: db.url });
    competitor = await PostgresEventStore.connect({ connectionString: db.url, migrate: false });
  });

  afterAll(async () => {
    await store?.close();
    await competitor?.close();
    await db?.drop();
  });

  /** A counter stream: the state is how many events it holds; the command appends one `Counted` with that number. */
  function countCommand(
    streamId: string,
    onDecide: (attempt: number) => Promise<void> = async () => {},
  ): DeciderCommand<number, { type: 'Counted'; seen: number }, RecordedEvent[]> & { attempts: () => number } {
    let attempts = 0;
    let beforeAppend: Promise<void> = Promise.resolve();
    return {
      streamId,
      attempts: () => attempts,
      fold: (recorded) => recorded.length,
      decide: (seen) => {
        attempts += 1;
        beforeAppend = onDecide(attempts);
        return [{ type: 'Counted', seen }];
      },
      whenNothingDecided: () => [],
      append: async (events, expectedRevision) => {
        await beforeAppend;
        await store.appendToStream(
          streamId,
          events.map((event) => newEvent(event.type, { seen: event.seen })),
          { expectedRevision },
        );
        return store.readStream(streamId);
      },
    };
  }

  const competitorWrites = (streamId: string) => async () => {
    await competitor.appendToStream(streamId, [newEvent('Competing')]);
  };

  it('decides again on what the other writer wrote and appends on the first attempt that meets no conflict', async () => {
    const streamId = `counter-${randomUUID()}`;
    const write = competitorWrites(streamId);
    const command = countCommand(streamId, (attempt) => (attempt <= 2 ? write() : Promise.resolve()));

    const stream = await handleDeciderCommand(store, command);

    expect(command.attempts()).toBe(3);
    expect(stream.map((event) => event.type)).toEqual(['Competing', 'Competing', 'Counted']);
    expect(stream[2]!.data).toEqual({ seen: 2 });
  });

  it('gives up after the policy’s attempts with ConflictRetriesExhaustedError, a WrongExpectedVersionError', async () => {
    const streamId = `counter-${randomUUID()}`;
    const command = countCommand(streamId, competitorWrites(streamId));

    const failure = await handleDeciderCommand(store, command).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(ConflictRetriesExhaustedError);
    expect(failure).toBeInstanceOf(WrongExpectedVersionError);
    const exhausted = failure as ConflictRetriesExhaustedError;
    expect(exhausted.code).toBe('EVENT_STORE.WRONG_EXPECTED_VERSION');
    expect(exhausted.attempts).toBe(CONFLICT_RETRY_POLICY.maxAttempts);
    expect(exhausted.streamId).toBe(streamId);
    expect(exhausted.message).toBe(
      `Gave up after 8 attempts: another writer moved stream ${streamId} each time ` +
        `(last: expected version 6, stream version 7)`,
    );
    expect(command.attempts()).toBe(CONFLICT_RETRY_POLICY.maxAttempts);
    const stream = await store.readStream(streamId);
    expect(stream.map((event) => event.type)).toEqual(Array(8).fill('Competing'));
  });

  it('takes its number of attempts from the policy', async () => {
    const streamId = `counter-${randomUUID()}`;
    const command = countCommand(streamId, competitorWrites(streamId));
    const failure = await handleDeciderCommand(store, {
      ...command,
      retryPolicy: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
    }).catch((error: unknown) => error);
    expect((failure as ConflictRetriesExhaustedError).attempts).toBe(3);
    expect(command.attempts()).toBe(3);
  });

  it('with onConflict "fail" throws the conflict itself after one attempt', async () => {
    const streamId = `counter-${randomUUID()}`;
    const command = countCommand(streamId, competitorWrites(streamId));

    const failure = await handleDeciderCommand(store, { ...command, onConflict: 'fail' }).catch((e: unknown) => e);

    expect(failure).toBeInstanceOf(WrongExpectedVersionError);
    expect(failure).not.toBeInstanceOf(ConflictRetriesExhaustedError);
    expect(command.attempts()).toBe(1);
  });

  it('never retries a refusal of the decider', async () => {
    const streamId = `counter-${randomUUID()}`;
    let decisions = 0;
    class Refused extends Error {}
    const failure = await handleDeciderCommand(store, {
      ...countCommand(streamId),
      decide: () => {
        decisions += 1;
        throw new Refused('no');
      },
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Refused);
    expect(decisions).toBe(1);
  });

  it('lets concurrent commands on one stream all land, each deciding on what the ones before it wrote', async () => {
    const streamId = `counter-${randomUUID()}`;
    const writers = 6; // each conflict means another writer landed: at most 5 of them, within the 8 attempts
    await Promise.all(Array.from({ length: writers }, () => handleDeciderCommand(store, countCommand(streamId))));
    const stream = await store.readStream(streamId);
    expect(stream.map((event) => event.data['seen'])).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
