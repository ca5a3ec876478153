import {
  AlreadyErasedError,
  erasureDecider,
  erasureStreamId,
  isErasureEventType,
  type ErasureEvent,
  type ErasureReply,
  type ErasureState,
} from '@audit-ledger/domain';
import {
  handleDeciderCommand,
  StreamNotFoundError,
  type EventStore,
  type RecordedEvent,
} from '@audit-ledger/event-store';
import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { Logger } from 'pino';
import { deterministicEventId } from '../../shared/event-ids.js';
import { CLOCK, EVENT_STORE, LOGGER, PAYLOAD_ERASURE, type Clock } from '../../shared/tokens.js';
import type { PayloadErasure } from '@audit-ledger/payload-keys';
import { ApproveErasureCommand } from './approve-erasure.command.js';

/**
 * One approval of a stream's erasure (two-person rule, libs/domain erasure.decider.ts). The second distinct approval
 * appends `PayloadErased`, then destroys the stream's data keys and scrubs the read models (PayloadErasure). An
 * approval of a stream erased already finishes that work again (idempotent) and answers `erased`, appending nothing.
 */
@CommandHandler(ApproveErasureCommand)
export class ApproveErasureHandler implements ICommandHandler<ApproveErasureCommand, ErasureReply> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PAYLOAD_ERASURE) private readonly erasure: PayloadErasure,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async execute({ request, principal }: ApproveErasureCommand): Promise<ErasureReply> {
    const { streamId, reason } = request;
    if (!(await this.store.streamExists(streamId))) throw new StreamNotFoundError(streamId);
    const erasureStream = erasureStreamId(streamId);
    try {
      const reply = await handleDeciderCommand<ErasureState, ErasureEvent, ErasureReply>(this.store, {
        streamId: erasureStream,
        fold: foldErasure,
        decide: (state) =>
          erasureDecider.decide(
            {
              type: 'ApproveErasure',
              streamId,
              reason,
              by: { id: principal.id, roles: principal.roles },
              fields: this.erasure.fields,
              now: this.clock.now().toISOString(),
            },
            state,
          ),
        whenNothingDecided: () => {
          throw new Error(`The erasure decider decided nothing for ${erasureStream}`);
        },
        append: async (events, revision) => {
          await this.store.appendToStream(
            erasureStream,
            events.map((event) => ({
              eventId: deterministicEventId(erasureStream, event.type, `${revision}:${principal.id}`),
              type: event.type,
              data: event.data,
              metadata: {
                correlationId: erasureStream,
                causationId: erasureStream,
                recordedAt: this.clock.now().toISOString(),
                actor: principal.id,
                schemaVersion: 1,
              },
            })),
            { expectedRevision: revision },
          );
          const erased = events.find((event) => event.type === 'PayloadErased');
          if (!erased) return { streamId, status: 'awaiting_second_approval', approvedBy: [principal.id] };
          return { streamId, status: 'erased', approvedBy: erased.data.approvedBy };
        },
      });
      if (reply.status === 'erased') await this.finish(streamId);
      return reply;
    } catch (error) {
      if (!(error instanceof AlreadyErasedError)) throw error;
      await this.finish(streamId);
      return { streamId, status: 'erased', approvedBy: [] };
    }
  }

  private async finish(streamId: string): Promise<void> {
    const outcome = await this.erasure.complete(streamId);
    this.logger.warn({ streamId, ...outcome }, 'payloads erased: data keys destroyed, read models scrubbed');
    const [last] = await this.store.readStream(streamId, { direction: 'backwards', maxCount: 1 });
    if (!last) return;
    // in the background: a projection batch in flight when the keys went is scrubbed after it commits
    void this.erasure
      .scrubAfterProjections(streamId, last.globalPosition)
      .then((done) => {
        if (!done) this.logger.warn({ streamId }, 'the projections did not catch up: run the erasure again later');
      })
      .catch((error: unknown) => this.logger.error({ err: error, streamId }, 'read-model scrub after erasure failed'));
  }
}

function foldErasure(events: readonly RecordedEvent[]): ErasureState {
  let state = erasureDecider.initialState();
  for (const event of events) {
    if (isErasureEventType(event.type))
      state = erasureDecider.evolve(state, { type: event.type, data: event.data } as ErasureEvent);
  }
  return state;
}
