import { StreamNotFoundError } from '../errors.js';
import type { EventStore, ExpectedRevision, RecordedEvent } from '../event-store.port.js';
import { CONFLICT_RETRY_POLICY, retryOnConflict, type ConflictRetryPolicy } from './conflict-retry-policy.js';

/**
 * One command against one stream, as a decider sees it. The handler reads the stream, folds it (`fold`), decides
 * (`decide`), and appends what was decided with the revision it read as the expected one (`append`); when another
 * writer moved the stream meanwhile it does it all again under the conflict retry policy.
 */
export interface DeciderCommand<State, Event, Result> {
  streamId: string;
  /** The state of the recorded events (the decider's `evolve` from its `initialState`). */
  fold(recorded: readonly RecordedEvent[]): State;
  /** The decision; the decider's refusals are thrown from here and never retried. */
  decide(state: State, recorded: readonly RecordedEvent[]): readonly Event[];
  /** Nothing was decided (the command was carried out before): the answer from what is recorded. */
  whenNothingDecided(recorded: readonly RecordedEvent[]): Result | Promise<Result>;
  /**
   * Appends the decided events expecting `expectedRevision` (event ids, metadata and tracing are the caller's), and
   * answers. A WrongExpectedVersionError thrown here is a conflict: the command is handled again.
   */
  append(
    events: readonly Event[],
    expectedRevision: ExpectedRevision,
    recorded: readonly RecordedEvent[],
  ): Promise<Result>;
  /** Reads the stream (default: the whole stream from the store, a missing stream as no events). */
  read?(streamId: string): Promise<RecordedEvent[]>;
  /** The events the caller read already: the first attempt decides on them instead of reading. */
  recorded?: readonly RecordedEvent[];
  /** The revision the append expects (default: the last revision read, `'no_stream'` when none). */
  expectedRevision?(recorded: readonly RecordedEvent[]): ExpectedRevision;
  /** `'fail'`: a conflict is the answer (a create-only command), thrown as it is. Default `'retry'`. */
  onConflict?: 'retry' | 'fail';
  /** For tests of the policy itself; every command of the ledger runs under CONFLICT_RETRY_POLICY. */
  retryPolicy?: ConflictRetryPolicy;
}

/** The generic decider command handler: the only read → fold → decide → append → retry loop of the ledger. */
export async function handleDeciderCommand<State, Event, Result>(
  store: EventStore,
  command: DeciderCommand<State, Event, Result>,
): Promise<Result> {
  const read = command.read ?? ((streamId: string) => readStreamOrEmpty(store, streamId));
  const expected = command.expectedRevision ?? lastRevisionOf;
  const policy = command.onConflict === 'fail' ? { ...CONFLICT_RETRY_POLICY, maxAttempts: 1 } : command.retryPolicy;
  return retryOnConflict(async (attempt) => {
    const recorded = attempt === 1 && command.recorded ? command.recorded : await read(command.streamId);
    const events = command.decide(command.fold(recorded), recorded);
    if (events.length === 0) return command.whenNothingDecided(recorded);
    return command.append(events, expected(recorded), recorded);
  }, policy);
}

/** The whole stream; a stream never written is no events. */
export async function readStreamOrEmpty(store: EventStore, streamId: string): Promise<RecordedEvent[]> {
  try {
    return await store.readStream(streamId);
  } catch (error) {
    if (error instanceof StreamNotFoundError) return [];
    throw error;
  }
}

function lastRevisionOf(recorded: readonly RecordedEvent[]): ExpectedRevision {
  return recorded.at(-1)?.streamRevision ?? 'no_stream';
}
