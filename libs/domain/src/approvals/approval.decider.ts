import { GrowingSet } from '../shared/growing-collections.js';
import { LedgerError } from '../shared/ledger-error.js';
import type {
  ApprovalGrantedData,
  ApprovalRejectedData,
  ApprovalRevokedData,
  ApprovalStreamEvent,
  ExecutionLoggedData,
} from './approval.events.js';

// The decider of one approval stream (`approval-<id>`, or `session-<id>` for executions that needed no approval).
// Time arrives on the command (`now`), never from a clock in here.

// `data.occurredAt` is set by the command path (occurrence.ts: the gateway's time, or the receive time).
export type ApprovalCommand =
  | { type: 'GrantApproval'; data: Omit<ApprovalGrantedData, 'grantedAt'>; now: string }
  | { type: 'RejectApproval'; data: Omit<ApprovalRejectedData, 'rejectedAt'>; now: string }
  | { type: 'RevokeApproval'; data: Omit<ApprovalRevokedData, 'revokedAt'>; now: string }
  | { type: 'LogExecution'; data: ExecutionLoggedData; now: string };

export type ApprovalStatus = 'none' | 'granted' | 'rejected' | 'revoked';

export interface ApprovalState {
  status: ApprovalStatus;
  granted?: ApprovalGrantedData;
  rejected?: ApprovalRejectedData;
  revoked?: ApprovalRevokedData;
  /** Grown, never copied, per execution: folding a stream stays linear in its length. */
  executionIds: GrowingSet<string>;
}

export class ApprovalAlreadyDecidedError extends LedgerError {
  readonly code = 'APPROVAL.ALREADY_DECIDED';
  constructor(
    readonly approvalId: string,
    readonly status: ApprovalStatus,
    attempted: string,
  ) {
    super(`Approval ${approvalId} is already ${status}: cannot ${attempted}`);
  }
}

export class ApprovalNotFoundError extends LedgerError {
  readonly code = 'APPROVAL.NOT_FOUND';
  constructor(readonly approvalId: string) {
    super(`Approval ${approvalId} was never granted`);
  }
}

export const initialState = (): ApprovalState => ({ status: 'none', executionIds: GrowingSet.empty() });

export function evolve(state: ApprovalState, event: ApprovalStreamEvent): ApprovalState {
  switch (event.type) {
    case 'ApprovalGranted':
      return { ...state, status: 'granted', granted: event.data };
    case 'ApprovalRejected':
      return { ...state, status: 'rejected', rejected: event.data };
    case 'ApprovalRevoked':
      return { ...state, status: 'revoked', revoked: event.data };
    case 'ExecutionLogged':
      return { ...state, executionIds: state.executionIds.add(event.data.executionId) };
  }
}

/**
 * Returns the events a command produces; `[]` means the command's idempotency key (approval id, execution id) was
 * already decided this way: a retry. The command path then compares the retry's content with the recorded event and
 * answers a different content as an idempotency conflict (apps/ledger/src/shared/handle-stream-command.ts).
 * Executions are never refused: whatever the approval's state, LogExecution records the execution.
 */
export function decide(command: ApprovalCommand, state: ApprovalState): ApprovalStreamEvent[] {
  switch (command.type) {
    case 'GrantApproval': {
      if (state.status === 'none') {
        return [{ type: 'ApprovalGranted', data: { ...command.data, grantedAt: command.now } }];
      }
      // Granted before (and maybe revoked since): a retry of the grant, answered from the recorded grant.
      if (state.granted) return [];
      throw new ApprovalAlreadyDecidedError(command.data.approvalId, state.status, 'grant it');
    }
    case 'RejectApproval': {
      if (state.status === 'none') {
        return [{ type: 'ApprovalRejected', data: { ...command.data, rejectedAt: command.now } }];
      }
      if (state.status === 'rejected') return [];
      throw new ApprovalAlreadyDecidedError(command.data.approvalId, state.status, 'reject it');
    }
    case 'RevokeApproval': {
      if (state.status === 'granted') {
        return [{ type: 'ApprovalRevoked', data: { ...command.data, revokedAt: command.now } }];
      }
      if (state.status === 'revoked') return [];
      if (state.status === 'none') throw new ApprovalNotFoundError(command.data.approvalId);
      throw new ApprovalAlreadyDecidedError(command.data.approvalId, state.status, 'revoke it');
    }
    case 'LogExecution': {
      if (state.executionIds.has(command.data.executionId)) return [];
      return [{ type: 'ExecutionLogged', data: command.data }];
    }
  }
}

export const approvalDecider = { decide, evolve, initialState };
