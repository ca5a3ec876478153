import { approvalStreamId, type CommandAck } from '@audit-ledger/domain';
import { type EventStore } from '@audit-ledger/event-store';
import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { tokenHashOf } from '../log-execution/execution-record.js';
import { handleStreamCommand } from '../../shared/handle-stream-command.js';
import { CLOCK, EVENT_STORE, TOKEN_SECRET, type Clock } from '../../shared/tokens.js';
import { GrantApprovalCommand } from './grant-approval.command.js';

@CommandHandler(GrantApprovalCommand)
export class GrantApprovalHandler implements ICommandHandler<GrantApprovalCommand, CommandAck> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(TOKEN_SECRET) private readonly tokenSecret: string,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  execute({ request, actor }: GrantApprovalCommand): Promise<CommandAck> {
    const { token: _token, tokenHash: _tokenHash, ...fields } = request;
    const tokenHash = tokenHashOf(request, this.tokenSecret);
    return handleStreamCommand(this.store, {
      streamId: approvalStreamId(request.approvalId),
      command: {
        type: 'GrantApproval',
        data: { ...fields, ...(tokenHash ? { tokenHash } : {}) },
        now: this.clock.now().toISOString(),
      },
      idempotencyKey: request.approvalId,
      isOriginal: (event) => event.type === 'ApprovalGranted',
      decidedAtField: 'grantedAt',
      derivedPaths: ['tokenHash'],
      actor,
      correlationId: request.approvalId,
    });
  }
}
