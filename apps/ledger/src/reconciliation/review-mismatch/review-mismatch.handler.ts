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
  StreamNotFoundError,
  WrongExpectedVersionError,
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

const MAX_ATTEMPTS = 8;

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
    for (let attempt = 1; ; attempt++) {
      const recorded = await this.store.readStream(streamId).catch((error: unknown) => {
        if (error instanceof StreamNotFoundError) throw new MismatchNotFoundError(data.mismatchId);
        throw error;
      });
      const state = foldStream(streamId, recorded);
      const now = this.clock.now().toISOString();
      const events = decideReview({ type: 'ReviewMismatch', data, now }, state, recorded);
      if (events.length === 0) {
        const original = recorded.find((e) => e.type === 'MismatchReviewed' && e.data.mismatchId === data.mismatchId);
        return ackFromRecorded(original!);
      }
      const eventId = deterministicEventId(streamId, 'MismatchReviewed', data.mismatchId);
      try {
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
          { expectedRevision: recorded.at(-1)!.streamRevision },
        );
        return ackFromAppend(result);
      } catch (error) {
        if (error instanceof WrongExpectedVersionError && attempt < MAX_ATTEMPTS) continue;
        throw error;
      }
    }
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
