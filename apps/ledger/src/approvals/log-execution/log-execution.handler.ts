import { approvalStreamId, occurredAtToRecord, sessionStreamId, type CommandAck } from '@audit-ledger/domain';
import { type EventStore } from '@audit-ledger/event-store';
import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { type LedgerConfig } from '../../config/ledger.config.js';
import { appendExecution } from '../../shared/handle-stream-command.js';
import { type Redactor } from '@audit-ledger/domain';
import type { PayloadCipher } from '@audit-ledger/payload-keys';
import {
  CLOCK,
  EVENT_STORE,
  LEDGER_CONFIG,
  PAYLOAD_CIPHER,
  REDACTOR,
  TOKEN_SECRET,
  type Clock,
} from '../../shared/tokens.js';
import { EXECUTION_DERIVED_PATHS, toExecutionRecord } from './execution-record.js';
import { LogExecutionCommand } from './log-execution.command.js';

/** Never refuses an execution for business reasons: unknown, rejected or expired approvals are recorded too. */
@CommandHandler(LogExecutionCommand)
export class LogExecutionHandler implements ICommandHandler<LogExecutionCommand, CommandAck> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(TOKEN_SECRET) private readonly tokenSecret: string,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(REDACTOR) private readonly redactor: Redactor,
    @Inject(PAYLOAD_CIPHER) private readonly cipher: PayloadCipher,
  ) {}

  async execute({ request, actor, requestId }: LogExecutionCommand): Promise<CommandAck> {
    const { data, redactions } = toExecutionRecord(request, {
      outputCapBytes: this.config.outputCapBytes,
      tokenSecret: this.tokenSecret,
      redactor: this.redactor,
    });
    const now = this.clock.now().toISOString();
    const occurredAt = occurredAtToRecord(request.occurredAt, now, this.config.maxClockSkewMs);
    const streamId = request.approvalId ? approvalStreamId(request.approvalId) : sessionStreamId(request.sessionId!);
    // Sealed after redaction, before the append: the event's hash covers the ciphertext (erasure/payload-cipher.ts).
    const sealed = await this.cipher.seal(streamId, { ...data, occurredAt });
    return appendExecution(this.store, {
      streamId,
      command: { type: 'LogExecution', data: sealed, now },
      idempotencyKey: request.executionId,
      isOriginal: (event) => event.type === 'ExecutionLogged' && event.data.executionId === request.executionId,
      derivedPaths: EXECUTION_DERIVED_PATHS,
      actor,
      requestId,
      correlationId: request.approvalId ?? request.sessionId ?? request.executionId,
      ...(redactions.length > 0 ? { metadata: { redactions } } : {}),
    });
  }
}
