import {
  approvalStreamId,
  ApproverProofInvalidError,
  ApproverProofRequiredError,
  decisionTiming,
  FieldRedactions,
  type ApprovalGrantedData,
  type Redactor,
  type CommandAck,
} from '@audit-ledger/domain';
import { StreamNotFoundError, type EventStore } from '@audit-ledger/event-store';
import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { LedgerConfig } from '../../config/ledger.config.js';
import { assertionHashOf, type ApproverProof } from '../../identity/jwt/approver-proof.js';
import { APPROVER_PROOF } from '../../identity/jwt/jwt.tokens.js';
import { tokenHashOf } from '../log-execution/execution-record.js';
import { DECISION_DERIVED_PATHS, handleStreamCommand } from '../../shared/handle-stream-command.js';
import { CLOCK, EVENT_STORE, LEDGER_CONFIG, REDACTOR, TOKEN_SECRET, type Clock } from '../../shared/tokens.js';
import { GrantApprovalCommand } from './grant-approval.command.js';

type Approver = Pick<ApprovalGrantedData, 'approvedBy' | 'approverVerified' | 'approverAssertionHash'>;

@CommandHandler(GrantApprovalCommand)
export class GrantApprovalHandler implements ICommandHandler<GrantApprovalCommand, CommandAck> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(TOKEN_SECRET) private readonly tokenSecret: string,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LEDGER_CONFIG) private readonly config: Pick<LedgerConfig, 'requireApproverProof' | 'maxClockSkewMs'>,
    @Inject(APPROVER_PROOF) private readonly approverProof: ApproverProof | null,
    @Inject(REDACTOR) private readonly redactor: Redactor,
  ) {}

  async execute({ request, actor, requestId }: GrantApprovalCommand): Promise<CommandAck> {
    const { token: _token, tokenHash: _tokenHash, approverAssertion, approvedBy: _claimed, ...fields } = request;
    // The approver is settled before anything is decided: a refused proof appends nothing.
    const approver = await this.approverOf(request.approvalId, request.approvedBy, approverAssertion);
    const tokenHash = tokenHashOf(request, this.tokenSecret);
    const streamId = approvalStreamId(request.approvalId);
    const now = this.clock.now().toISOString();
    const timing = decisionTiming(request, now, this.config.maxClockSkewMs);
    // Secrets go before anything is hashed or stored; the same request always redacts the same way (retries match).
    const redact = new FieldRedactions(this.redactor);
    const texts = {
      instruction: redact.text('instruction', fields.instruction),
      approvedCommands: redact.texts('approvedCommands', fields.approvedCommands),
    };
    return handleStreamCommand(this.store, {
      streamId,
      command: {
        type: 'GrantApproval',
        data: { ...fields, ...texts, ...approver, ...timing, ...(tokenHash ? { tokenHash } : {}) },
        now,
      },
      ...(redact.fired.length > 0 ? { metadata: { redactions: redact.fired } } : {}),
      idempotencyKey: request.approvalId,
      isOriginal: (event) => event.type === 'ApprovalGranted',
      decidedAtField: 'grantedAt',
      // A retry may carry a fresh assertion of the same approver: compared on presence like the token's HMAC.
      derivedPaths: [...DECISION_DERIVED_PATHS, 'tokenHash', 'approverAssertionHash'],
      // Grants recorded before approver proofs read as unproven, so their retries still match.
      storedDefaults: { approverVerified: false },
      actor,
      requestId,
      correlationId: request.approvalId,
    });
  }

  private async approverOf(
    approvalId: string,
    claimed: string | undefined,
    assertion: string | undefined,
  ): Promise<Approver> {
    if (assertion === undefined) {
      if (this.config.requireApproverProof) throw new ApproverProofRequiredError(approvalId);
      // The request schema requires approvedBy when no assertion comes with it.
      return { approvedBy: claimed!, approverVerified: false };
    }
    if (!this.approverProof) {
      throw new ApproverProofInvalidError(approvalId, 'this ledger has no identity provider (LEDGER_OIDC_ISSUER)');
    }
    try {
      const { subject, assertionHash } = await this.approverProof.verify(assertion, approvalId);
      return { approvedBy: subject, approverVerified: true, approverAssertionHash: assertionHash };
    } catch (error) {
      // A retry of a recorded grant may carry the very assertion that was verified then, expired since.
      const recorded = await this.grantProvenBy(approvalId, assertionHashOf(assertion));
      if (recorded) return recorded;
      throw error;
    }
  }

  private async grantProvenBy(approvalId: string, assertionHash: string): Promise<Approver | undefined> {
    try {
      const events = await this.store.readStream(approvalStreamId(approvalId));
      const grant = events.find((event) => event.type === 'ApprovalGranted');
      const data = grant?.data as Partial<ApprovalGrantedData> | undefined;
      if (data?.approverVerified !== true || data.approverAssertionHash !== assertionHash || !data.approvedBy) {
        return undefined;
      }
      return { approvedBy: data.approvedBy, approverVerified: true, approverAssertionHash: assertionHash };
    } catch (error) {
      if (error instanceof StreamNotFoundError) return undefined;
      throw error;
    }
  }
}
