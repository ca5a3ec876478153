import {
  isApprovalStreamEventType,
  isReconciliationEventType,
  reconciliationDecider,
  type ReconciliationState,
  type StreamEvent,
} from '@audit-ledger/domain';
import type { RecordedEvent } from '@audit-ledger/event-store';

/** The events the reconciliation decider folds; anything else in the stream is skipped. */
export function toStreamEvent(event: RecordedEvent): StreamEvent | undefined {
  if (isApprovalStreamEventType(event.type) || isReconciliationEventType(event.type)) {
    return { type: event.type, data: event.data } as unknown as StreamEvent;
  }
  return undefined;
}

/** The state of a whole stream read from revision 0, folded from scratch. */
export function foldStream(streamId: string, recorded: readonly RecordedEvent[]): ReconciliationState {
  return foldIncrementally(streamId, recorded).state;
}

/** A stream's reconciliation state and the prefix of the stream it was folded from. */
export interface FoldedStream {
  readonly state: ReconciliationState;
  /** How many events (revisions 0 … length-1) the state covers. */
  readonly length: number;
  /** Hash of the last event folded (`''` when none): tells a prefix of the same stream from anything else. */
  readonly lastHash: string;
}

function initialFold(streamId: string): FoldedStream {
  return {
    state: reconciliationDecider.initialState(streamId.startsWith('session-') ? 'session' : 'approval'),
    length: 0,
    lastHash: '',
  };
}

/**
 * The state of `recorded` (a stream read from revision 0), evolving `previous` by only the events it has not seen
 * when it is a fold of a prefix of `recorded` (revisions are contiguous and a stream's prefix never changes; the
 * last folded event's hash confirms it). Otherwise — no previous fold, a longer one, or one of other events — it
 * folds from revision 0. Evolving is pure, so the result is what folding `recorded` from 0 gives.
 */
export function foldIncrementally(
  streamId: string,
  recorded: readonly RecordedEvent[],
  previous?: FoldedStream,
  /** Fold only revisions 0 … end − 1. */
  end = recorded.length,
): FoldedStream {
  const base =
    previous &&
    previous.length <= end &&
    (previous.length === 0 ? previous.lastHash === '' : recorded[previous.length - 1]!.hash === previous.lastHash)
      ? previous
      : initialFold(streamId);
  if (base.length === end) return base;
  let state = base.state;
  for (let i = base.length; i < end; i++) {
    const event = toStreamEvent(recorded[i]!);
    if (event) state = reconciliationDecider.evolve(state, event);
  }
  return { state, length: end, lastHash: recorded[end - 1]!.hash };
}

/** Folds that reuse the last fold of the same stream: what one reconcile call uses when no cache is given. */
export function incrementalFolder(): (streamId: string, recorded: readonly RecordedEvent[]) => ReconciliationState {
  const folds = new Map<string, FoldedStream>();
  return (streamId, recorded) => {
    const folded = foldIncrementally(streamId, recorded, folds.get(streamId));
    folds.set(streamId, folded);
    return folded.state;
  };
}
