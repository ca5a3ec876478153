import {
  judgeRequest,
  reconciliationDecider,
  revocationOccurredAt,
  type ApprovalRevokedData,
  type ExecutionLoggedData,
  type LifecycleState,
  type ReconciliationCommand,
  type ReconciliationEvent,
  type ReconciliationState,
  type StreamEvent,
} from '@audit-ledger/domain';
import { withStorableText } from '@audit-ledger/integrity';
import {
  handleDeciderCommand,
  IdempotencyConflictError,
  type NewEvent,
  type EventStore,
  type ExpectedRevision,
  type RecordedEvent,
} from '@audit-ledger/event-store';
import { alertSummary, type Alert } from '@audit-ledger/alerts';
import { deterministicEventId } from '../shared/event-ids.js';
import type { AskJudge } from './ask-judge.js';
import { foldStream, incrementalFolder, toStreamEvent } from './stream-fold.js';
import { inSpan, linksToAppends } from '../tracing/spans.js';

const RECONCILIATION_ACTOR = 'process:reconciliation';

export { foldStream } from './stream-fold.js';

export { readStreamOrEmpty } from '@audit-ledger/event-store';

export interface WrittenVerdict {
  event: ReconciliationEvent;
  streamId: string;
  eventId: string;
  streamRevision: number;
  globalPosition: bigint;
  recordedAt: string;
}

/** What an append wrote, as the processor's stream cache keeps it (it adds `prevHash` and `recordedAt`). */
export type AppendedEvent = Omit<RecordedEvent, 'prevHash' | 'recordedAt'>;

export interface DecideAndAppendOptions {
  causationId?: string;
  idempotencyKey: string[];
  now: string;
  /** Default `'any'`; the judged path passes the revision it read, so a verdict recorded meanwhile wins. */
  expectedRevision?: ExpectedRevision;
  /** Told what this call wrote (the processor's cache, so the next execution of the stream needs no read). */
  onAppended?: (streamId: string, events: AppendedEvent[]) => void;
}

/**
 * Fold, decide, append with `expectedRevision: 'any'`. Sound because the decision depends only on the events before
 * the execution and on the verdicts already recorded, and its event id only on (stream, type, key…): two processors
 * (or a replay) deciding the same thing write it once. Returns what this call wrote; `[]` when nothing was decided
 * or the store already held it (then it was alerted the first time).
 */
export async function decideAndAppend(
  store: EventStore,
  streamId: string,
  recorded: readonly RecordedEvent[],
  command: ReconciliationCommand,
  options: DecideAndAppendOptions,
): Promise<WrittenVerdict[]> {
  const state = foldStream(streamId, recorded);
  return appendDecided(store, streamId, [decisionOf(streamId, state, command, options)], options);
}

interface Decided {
  decided: ReconciliationEvent[];
  newEvents: NewEvent[];
}

function decisionOf(
  streamId: string,
  state: ReconciliationState,
  command: ReconciliationCommand,
  options: Pick<DecideAndAppendOptions, 'causationId' | 'idempotencyKey' | 'now'>,
): Decided {
  const decided = reconciliationDecider.decide(command, state);
  return { decided, newEvents: verdictEvents(streamId, decided, options) };
}

/** The verdicts as events to append: ids from (stream, type, key…), so deciding the same thing twice writes it once. */
function verdictEvents(
  streamId: string,
  decided: readonly ReconciliationEvent[],
  options: Pick<DecideAndAppendOptions, 'causationId' | 'idempotencyKey' | 'now'>,
): NewEvent[] {
  return decided.map((event) => {
    const eventId = deterministicEventId(streamId, event.type, ...options.idempotencyKey);
    const data = event.data as { approvalId?: string; sessionId?: string };
    return {
      eventId,
      type: event.type,
      data: event.data as unknown as Record<string, unknown>,
      metadata: {
        correlationId: data.approvalId ?? data.sessionId ?? streamId.replace(/^(approval|session)-/, ''),
        causationId: options.causationId ?? eventId,
        recordedAt: options.now,
        actor: RECONCILIATION_ACTOR,
        schemaVersion: 1,
      },
    };
  });
}

/**
 * Appends the verdicts of several decisions of one stream in ONE append (one commit instead of one per execution).
 * When the store holds only some of them (another processor wrote part), it refuses the whole append as an
 * idempotency conflict; they are then appended one by one, each replay answering with the original.
 */
async function appendDecided(
  store: EventStore,
  streamId: string,
  decisions: readonly Decided[],
  options: Pick<DecideAndAppendOptions, 'now' | 'expectedRevision' | 'onAppended'>,
): Promise<WrittenVerdict[]> {
  const decided = decisions.flatMap((d) => d.decided);
  // A verdict quotes what was stored; an execution stored before input was checked may hold text the store now
  // refuses (a lone surrogate, NUL): the verdict quotes it with U+FFFD instead of being refused for good.
  const newEvents = decisions
    .flatMap((d) => d.newEvents)
    .map((event) => ({ ...event, data: withStorableText(event.data), metadata: withStorableText(event.metadata) }));
  if (newEvents.length === 0) return [];
  let result;
  try {
    result = await store.appendToStream(streamId, newEvents, { expectedRevision: options.expectedRevision ?? 'any' });
  } catch (error) {
    if (!(error instanceof IdempotencyConflictError)) throw error;
    // The verdict already recorded under this id wins (a judge may word it differently): nothing new was written.
    if (decisions.length < 2) {
      if (error.details) return [];
      throw error;
    }
    const written: WrittenVerdict[] = [];
    for (const decision of decisions) written.push(...(await appendDecided(store, streamId, [decision], options)));
    return written;
  }
  if (result.idempotentReplay) return [];
  options.onAppended?.(
    streamId,
    newEvents.map((event, i) => ({ ...event, streamId, ...result.events[i]! })),
  );
  return decided.map((event, i) => ({ event, streamId, recordedAt: options.now, ...result.events[i]! }));
}

export interface ReconcileExecutionOptions {
  reconcilerVersion: string;
  now: string;
  onlyIfChanged?: boolean;
  /**
   * How to read the stream (the processor passes its StreamReadCache); default: the whole stream from the store.
   * `throughRevision`: the caller needs the events up to it at least (a cache holding them may answer without a
   * round trip); absent: up to the stream's current end.
   */
  read?: (streamId: string, throughRevision?: number) => Promise<RecordedEvent[]>;
  /** The LLM judge, when configured: asked only when the decider's `judgeRequest` says so. */
  judge?: AskJudge;
  onAppended?: DecideAndAppendOptions['onAppended'];
  /**
   * The state of a stream read from revision 0 (the processor passes its StreamReadCache, which keeps each stream's
   * fold and evolves it by the events it has not folded yet); default: folds kept for this call only.
   */
  fold?: (streamId: string, recorded: readonly RecordedEvent[]) => ReconciliationState;
  /**
   * The lifecycle of the stream's revisions before `revision`, when the caller keeps it folded (the processor's
   * StreamReadCache); undefined, or absent: the decider rebuilds it from the history.
   */
  lifecycleBefore?: (
    streamId: string,
    recorded: readonly RecordedEvent[],
    revision: number,
  ) => LifecycleState | undefined;
}

/** The decider's command for one recorded execution, and how its verdict is appended. */
function executionCommand(
  logged: RecordedEvent,
  recorded: readonly RecordedEvent[],
  options: ReconcileExecutionOptions,
): {
  command: Extract<ReconciliationCommand, { type: 'ReconcileExecution' }>;
  appendOptions: DecideAndAppendOptions;
} {
  const execution = logged.data as unknown as ExecutionLoggedData;
  const key = [execution.executionId, options.reconcilerVersion];
  const lifecycleBefore = options.lifecycleBefore?.(logged.streamId, recorded, logged.streamRevision);
  return {
    command: {
      type: 'ReconcileExecution',
      execution,
      history: lifecycleBefore
        ? []
        : recorded
            .filter((e) => e.streamRevision < logged.streamRevision)
            .map(toStreamEvent)
            .filter((e): e is StreamEvent => e !== undefined),
      ...(lifecycleBefore ? { lifecycleBefore } : {}),
      reconcilerVersion: options.reconcilerVersion,
      mismatchId: deterministicEventId(logged.streamId, 'MismatchDetected', ...key),
      ...(options.onlyIfChanged ? { onlyIfChanged: true } : {}),
    },
    appendOptions: {
      causationId: logged.eventId,
      idempotencyKey: key,
      now: options.now,
      ...(options.onAppended ? { onAppended: options.onAppended } : {}),
    },
  };
}

/**
 * Reconciles one recorded ExecutionLogged against the events before it in its stream. Without a judge (or when it
 * does not apply) the verdict is deterministic and appended with `expectedRevision: 'any'`. When the judge applies,
 * its answer is not reproducible, so the verdict already recorded must win: the stream is read to its end, the judge
 * asked once, and the verdict appended with the revision read as the expected one; when another writer moved the
 * stream meanwhile, the stream is read again and the decision repeated with the same answer (it decides nothing
 * when a verdict for the execution is now recorded).
 */
export async function reconcileLoggedExecution(
  store: EventStore,
  logged: RecordedEvent,
  options: ReconcileExecutionOptions,
): Promise<WrittenVerdict[]> {
  const read = options.read ?? ((streamId: string) => store.readStream(streamId));
  const fold = options.fold ?? incrementalFolder();
  const streamId = logged.streamId;
  let recorded = await read(streamId, logged.streamRevision);
  const { command, appendOptions } = executionCommand(logged, recorded, options);
  const judged = async () => {
    if (!options.judge || !judgeRequest(command, fold(streamId, recorded))) return undefined;
    recorded = await read(streamId); // to the end: a verdict recorded after the execution wins
    const request = judgeRequest(command, fold(streamId, recorded));
    return request ? options.judge(request) : undefined;
  };
  const judgement = await judged();
  if (!judgement) {
    const decision = decisionOf(streamId, fold(streamId, recorded), command, appendOptions);
    return appendDecided(store, streamId, [decision], appendOptions);
  }
  // The judge's answer is kept for every attempt: a conflict re-reads and decides again (nothing, when a verdict
  // for the execution is recorded now).
  return handleDeciderCommand(store, {
    streamId,
    recorded,
    read: (id) => read(id),
    fold: (events) => fold(streamId, events),
    decide: (state) => reconciliationDecider.decide({ ...command, judgement }, state),
    whenNothingDecided: () => [],
    expectedRevision: (events) => events.length - 1,
    append: (decided, expectedRevision) =>
      appendDecided(
        store,
        streamId,
        [{ decided: [...decided], newEvents: verdictEvents(streamId, decided, appendOptions) }],
        {
          ...appendOptions,
          expectedRevision,
        },
      ),
  });
}

/**
 * Reconciles several recorded ExecutionLogged of ONE stream, in stream order (the processor's catch-up hands over
 * what queued up behind a busy stream): one read, and one append for each run of deterministic verdicts. An
 * execution the judge applies to goes alone through `reconcileLoggedExecution`, in its place in the order. Each
 * deterministic decision depends only on the events before its execution, so deciding them together decides what
 * deciding them one by one would.
 */
export async function reconcileLoggedExecutions(
  store: EventStore,
  batch: readonly RecordedEvent[],
  options: ReconcileExecutionOptions,
): Promise<WrittenVerdict[]> {
  const eventIds = batch.map((event) => event.eventId);
  return inSpan(
    'reconcile',
    {
      'ledger.stream_id': batch[0]?.streamId ?? '',
      'ledger.executions': batch.length,
      'ledger.event_ids': eventIds.slice(0, 32),
      'ledger.correlation_ids': [...new Set(batch.map(correlationIdOf))].slice(0, 32),
    },
    async (span) => {
      const written = await reconcileBatch(store, batch, options);
      span.setAttribute(
        'ledger.verdicts',
        written.map((verdict) => verdict.event.type),
      );
      return written;
    },
    { links: linksToAppends(eventIds) },
  );
}

function correlationIdOf(event: RecordedEvent): string {
  const id = event.metadata['correlationId'];
  return typeof id === 'string' ? id : '';
}

async function reconcileBatch(
  store: EventStore,
  batch: readonly RecordedEvent[],
  options: ReconcileExecutionOptions,
): Promise<WrittenVerdict[]> {
  if (batch.length === 1) return reconcileLoggedExecution(store, batch[0]!, options);
  const streamId = batch[0]!.streamId;
  const read = options.read ?? ((id: string) => store.readStream(id));
  const fold = options.fold ?? incrementalFolder();
  const recorded = await read(streamId, Math.max(...batch.map((e) => e.streamRevision)));
  const state = fold(streamId, recorded);
  const written: WrittenVerdict[] = [];
  let run: Decided[] = [];
  const flush = async () => {
    written.push(...(await appendDecided(store, streamId, run, options)));
    run = [];
  };
  for (const logged of batch) {
    const { command, appendOptions } = executionCommand(logged, recorded, options);
    if (options.judge && judgeRequest(command, state)) {
      await flush();
      written.push(...(await reconcileLoggedExecution(store, logged, { ...options, fold })));
    } else {
      run.push(decisionOf(streamId, state, command, appendOptions));
    }
  }
  await flush();
  return written;
}

/**
 * A recorded ApprovalRevoked that happened before executions recorded ahead of it started (a revocation spooled during
 * an outage, or sent by another client, drained after them): each of those answered MATCH or UNCLEAR becomes
 * `approval_revoked` (the decider's `ReviseForLateRevocation`), in one append. Deterministic ids (stream, execution,
 * version), so handling the revocation again writes nothing.
 */
export async function reviseForLateRevocation(
  store: EventStore,
  revocation: RecordedEvent,
  options: ReconcileExecutionOptions,
): Promise<WrittenVerdict[]> {
  const read = options.read ?? ((id: string) => store.readStream(id));
  const fold = options.fold ?? incrementalFolder();
  const streamId = revocation.streamId;
  const recorded = await read(streamId, revocation.streamRevision);
  const occurred = revocationOccurredAt(revocation.data as unknown as ApprovalRevokedData);
  const covered = recorded.filter(
    (e) =>
      e.type === 'ExecutionLogged' &&
      e.streamRevision < revocation.streamRevision &&
      String(e.data.startedAt) >= occurred,
  );
  if (covered.length === 0) return [];
  const state = fold(streamId, recorded);
  const decisions = covered.map((logged) => {
    const execution = logged.data as unknown as ExecutionLoggedData;
    const key = [execution.executionId, options.reconcilerVersion, 'revoked-before-it-started'];
    const command: ReconciliationCommand = {
      type: 'ReviseForLateRevocation',
      execution,
      reconcilerVersion: options.reconcilerVersion,
      mismatchId: deterministicEventId(streamId, 'MismatchDetected', ...key),
    };
    return decisionOf(streamId, state, command, {
      causationId: revocation.eventId,
      idempotencyKey: key,
      now: options.now,
    });
  });
  return appendDecided(store, streamId, decisions, options);
}

/** The alert a written verdict raises: always for MismatchDetected, for ReconciliationUnclear when asked. */
export function alertOf(written: WrittenVerdict, alertOnUnclear: boolean): Alert | undefined {
  const { event, streamId } = written;
  const base = {
    alertId: written.eventId,
    streamId,
    streamRevision: written.streamRevision,
    globalPosition: written.globalPosition.toString(),
    recordedAt: written.recordedAt,
    data: event.data as unknown as Record<string, unknown>,
  };
  if (event.type === 'MismatchDetected') {
    const { kind, severity, explanation } = event.data;
    return {
      ...base,
      type: 'MismatchDetected',
      kind,
      severity,
      summary: alertSummary({ type: 'MismatchDetected', kind, severity, streamId }, explanation),
    };
  }
  if (event.type === 'ReconciliationUnclear' && alertOnUnclear) {
    return {
      ...base,
      type: 'ReconciliationUnclear',
      ...(event.data.kind ? { kind: event.data.kind } : {}),
      summary: alertSummary({ type: 'ReconciliationUnclear', streamId }, event.data.reason),
    };
  }
  return undefined;
}
