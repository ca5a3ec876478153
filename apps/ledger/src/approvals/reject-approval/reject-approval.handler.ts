import { approvalStreamId, type CommandAck } from '@audit-ledger/domain';
import { type EventStore } from '@audit-ledger/event-store';
import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { handleStreamCommand } from '../../shared/handle-stream-command.js';
import { CLOCK, EVENT_STORE, type Clock } from '../../shared/tokens.js';
import { RejectApprovalCommand } from './reject-approval.command.js';

@CommandHandler(RejectApprovalCommand)
export class RejectApprovalHandler implements ICommandHandler<RejectApprovalCommand, CommandAck> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  execute({ request, actor }: RejectApprovalCommand): Promise<CommandAck> {
    return handleStreamCommand(this.store, {
      streamId: approvalStreamId(request.approvalId),
      command: { type: 'RejectApproval', data: request, now: this.clock.now().toISOString() },
      idempotencyKey: request.approvalId,
      isOriginal: (event) => event.type === 'ApprovalRejected',
      decidedAtField: 'rejectedAt',
      derivedPaths: [],
      actor,
      correlationId: request.approvalId,
    });
  }
}
