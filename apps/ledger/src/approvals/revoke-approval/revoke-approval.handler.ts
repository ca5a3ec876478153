import {
  approvalStreamId,
  occurredAtToRecord,
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
import { RevokeApprovalCommand } from './revoke-approval.command.js';

@CommandHandler(RevokeApprovalCommand)
export class RevokeApprovalHandler implements ICommandHandler<RevokeApprovalCommand, CommandAck> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(REDACTOR) private readonly redactor: Redactor,
  ) {}

  execute({ request, actor, requestId }: RevokeApprovalCommand): Promise<CommandAck> {
    const now = this.clock.now().toISOString();
    const occurredAt = occurredAtToRecord(request.occurredAt, now, this.config.maxClockSkewMs);
    const redact = new FieldRedactions(this.redactor);
    const reason = redact.text('reason', request.reason);
    return handleStreamCommand(this.store, {
      streamId: approvalStreamId(request.approvalId),
      command: { type: 'RevokeApproval', data: { ...request, reason, occurredAt }, now },
      idempotencyKey: request.approvalId,
      isOriginal: (event) => event.type === 'ApprovalRevoked',
      decidedAtField: 'revokedAt',
      derivedPaths: DECISION_DERIVED_PATHS,
      actor,
      requestId,
      correlationId: request.approvalId,
      ...(redact.fired.length > 0 ? { metadata: { redactions: redact.fired } } : {}),
    });
  }
}
