import { LedgerError } from '../shared/ledger-error.js';

/** A grant's `approverAssertion` is present but proves nobody (expired, wrongly signed, for another audience…). */
export class ApproverProofInvalidError extends LedgerError {
  readonly code = 'APPROVAL.APPROVER_PROOF_INVALID';
  constructor(
    readonly approvalId: string,
    reason: string,
  ) {
    super(`The approver's assertion of approval ${approvalId} is refused: ${reason}; nothing was recorded`);
  }
}

/** The ledger requires proven approvers (LEDGER_REQUIRE_APPROVER_PROOF) and the grant carries no assertion. */
export class ApproverProofRequiredError extends LedgerError {
  readonly code = 'APPROVAL.APPROVER_PROOF_REQUIRED';
  constructor(readonly approvalId: string) {
    super(
      `Approval ${approvalId} carries no approverAssertion and this ledger records only proven approvers ` +
        '(LEDGER_REQUIRE_APPROVER_PROOF); nothing was recorded',
    );
  }
}
