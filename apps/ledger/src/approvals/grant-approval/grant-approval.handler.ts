import { approvalStreamId, decisionTiming, type CommandAck } from '@audit-ledger/domain';
import { type EventStore } from '@audit-ledger/event-store';
import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { tokenHashOf } from '../log-execution/execution-record.js';
import { DECISION_DERIVED_PATHS, handleStreamCommand } from '../../shared/handle-stream-command.js';
import { type LedgerConfig } from '../../config/ledger.config.js';
import { CLOCK, EVENT_STORE, LEDGER_CONFIG, TOKEN_SECRET, type Clock } from '../../shared/tokens.js';
import { GrantApprovalCommand } from './grant-approval.command.js';

@CommandHandler(GrantApprovalCommand)
export class GrantApprovalHandler implements ICommandHandler<GrantApprovalCommand, CommandAck> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(TOKEN_SECRET) private readonly tokenSecret: string,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  execute({ request, actor }: GrantApprovalCommand): Promise<CommandAck> {
    const { token: _token, tokenHash: _tokenHash, ...fields } = request;
    const tokenHash = tokenHashOf(request, this.tokenSecret);
    const now = this.clock.now().toISOString();
    const timing = decisionTiming(request, now, this.config.maxClockSkewMs);
    return handleStreamCommand(this.store, {
      streamId: approvalStreamId(request.approvalId),
      command: {
        type: 'GrantApproval',
        data: { ...fields, ...timing, ...(tokenHash ? { tokenHash } : {}) },
        now,
      },
      idempotencyKey: request.approvalId,
      isOriginal: (event) => event.type === 'ApprovalGranted',
      decidedAtField: 'grantedAt',
      derivedPaths: [...DECISION_DERIVED_PATHS, 'tokenHash'],
      actor,
      correlationId: request.approvalId,
    });
  }
}
