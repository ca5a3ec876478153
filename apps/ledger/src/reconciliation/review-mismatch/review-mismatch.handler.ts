import {
  MismatchAlreadyReviewedError,
  MismatchNotFoundError,
  reconciliationDecider,
  type CommandAck,
  type ReconciliationCommand,
  type ReconciliationState,
} from '@audit-ledger/domain';
import {
  contentDifferences,
  handleDeciderCommand,
  StreamNotFoundError,
  type EventStore,
  type RecordedEvent,
} from '@audit-ledger/event-store';
import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { ackFromAppend, ackFromRecorded } from '../../shared/command-ack.js';
import { deterministicEventId } from '../../shared/event-ids.js';
import { CLOCK, EVENT_STORE, type Clock } from '../../shared/tokens.js';
import { foldStream } from '../reconcile-execution.js';
import { MismatchReviewConflictError } from './mismatch-error.filter.js';
import { ReviewMismatchCommand } from './review-mismatch.command.js';

/** Read the mismatch's stream, decide, append with the revision read (a mismatch is reviewed once). */
@CommandHandler(ReviewMismatchCommand)
export class ReviewMismatchHandler implements ICommandHandler<ReviewMismatchCommand, CommandAck> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ request, actor }: ReviewMismatchCommand): Promise<CommandAck> {
    // The reviewer is who is authenticated, whatever the request says.
    const { streamId, reviewer: _claimed, ...fields } = request;
    const data = { ...fields, reviewer: actor };
    let now = ''; // the decision's time, taken again by each attempt
    const isTheReview = (event: RecordedEvent) =>
      event.type === 'MismatchReviewed' && event.data.mismatchId === data.mismatchId;
    return handleDeciderCommand(this.store, {
      streamId,
      read: (id) =>
        this.store.readStream(id).catch((error: unknown) => {
          if (error instanceof StreamNotFoundError) throw new MismatchNotFoundError(data.mismatchId);
          throw error;
        }),
      fold: (recorded) => foldStream(streamId, recorded),
      decide: (state, recorded) => {
        now = this.clock.now().toISOString();
        return decideReview({ type: 'ReviewMismatch', data, now }, state, recorded);
      },
      whenNothingDecided: (recorded) => ackFromRecorded(recorded.find(isTheReview)!),
      append: async (events, expectedRevision) => {
        const eventId = deterministicEventId(streamId, 'MismatchReviewed', data.mismatchId);
        const result = await this.store.appendToStream(
          streamId,
          events.map((event) => ({
            eventId,
            type: event.type,
            data: event.data as unknown as Record<string, unknown>,
            metadata: {
              correlationId: data.mismatchId,
              causationId: data.mismatchId,
              recordedAt: now,
              actor,
              schemaVersion: 1,
            },
          })),
          { expectedRevision },
        );
        return ackFromAppend(result);
      },
    });
  }
}

/**
 * A different review of a reviewed mismatch stays `409 MISMATCH.ALREADY_REVIEWED`; its answer also names, like an
 * idempotency conflict, the key (the mismatch id), the stored review's event and position, and the fields that differ.
 */
function decideReview(
  command: Extract<ReconciliationCommand, { type: 'ReviewMismatch' }>,
  state: ReconciliationState,
  recorded: readonly RecordedEvent[],
) {
  try {
    return reconciliationDecider.decide(command, state);
  } catch (error) {
    if (!(error instanceof MismatchAlreadyReviewedError)) throw error;
    const stored = recorded.find((e) => e.type === 'MismatchReviewed' && e.data.mismatchId === command.data.mismatchId);
    if (!stored) throw error;
    const proposed = { ...command.data, reviewedAt: stored.data.reviewedAt };
    throw new MismatchReviewConflictError(error, {
      idempotencyKey: command.data.mismatchId,
      eventId: stored.eventId,
      stored: {
        eventId: stored.eventId,
        streamId: stored.streamId,
        streamRevision: stored.streamRevision,
        globalPosition: stored.globalPosition.toString(),
        type: stored.type,
      },
      differences: contentDifferences(stored.data, proposed),
    });
  }
}
