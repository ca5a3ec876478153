import {
  approvalStreamId,
  decisionTiming,
  FieldRedactions,
  type CommandAck,
  type Redactor,
} from '@audit-ledger/domain';
import { type EventStore } from '@audit-ledger/event-store';
import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { DECISION_DERIVED_PATHS, handleStreamCommand } from '../../shared/handle-stream-command.js';
import { type LedgerConfig } from '../../config/ledger.config.js';
import { CLOCK, EVENT_STORE, LEDGER_CONFIG, REDACTOR, type Clock } from '../../shared/tokens.js';
import { RejectApprovalCommand } from './reject-approval.command.js';

@CommandHandler(RejectApprovalCommand)
export class RejectApprovalHandler implements ICommandHandler<RejectApprovalCommand, CommandAck> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(REDACTOR) private readonly redactor: Redactor,
  ) {}

  execute({ request, actor, requestId }: RejectApprovalCommand): Promise<CommandAck> {
    const now = this.clock.now().toISOString();
    const redact = new FieldRedactions(this.redactor);
    const instruction = redact.optionalText('instruction', request.instruction);
    const data = {
      ...request,
      reason: redact.text('reason', request.reason),
      ...(instruction === undefined ? {} : { instruction }),
      ...decisionTiming(request, now, this.config.maxClockSkewMs),
    };
    return handleStreamCommand(this.store, {
      streamId: approvalStreamId(request.approvalId),
      command: { type: 'RejectApproval', data, now },
      idempotencyKey: request.approvalId,
      isOriginal: (event) => event.type === 'ApprovalRejected',
      decidedAtField: 'rejectedAt',
      derivedPaths: DECISION_DERIVED_PATHS,
      actor,
      requestId,
      correlationId: request.approvalId,
      ...(redact.fired.length > 0 ? { metadata: { redactions: redact.fired } } : {}),
    });
  }
}
