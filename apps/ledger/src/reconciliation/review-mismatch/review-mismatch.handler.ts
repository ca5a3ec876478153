import { MismatchNotFoundError, reconciliationDecider, type CommandAck } from '@audit-ledger/domain';
import { StreamNotFoundError, WrongExpectedVersionError, type EventStore } from '@audit-ledger/event-store';
import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { ackFromAppend, ackFromRecorded } from '../../shared/command-ack.js';
import { deterministicEventId } from '../../shared/event-ids.js';
import { CLOCK, EVENT_STORE, type Clock } from '../../shared/tokens.js';
import { foldStream } from '../reconcile-execution.js';
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
    const { streamId, ...data } = request;
    for (let attempt = 1; ; attempt++) {
      const recorded = await this.store.readStream(streamId).catch((error: unknown) => {
        if (error instanceof StreamNotFoundError) throw new MismatchNotFoundError(data.mismatchId);
        throw error;
      });
      const state = foldStream(streamId, recorded);
      const now = this.clock.now().toISOString();
      const events = reconciliationDecider.decide({ type: 'ReviewMismatch', data, now }, state);
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
