import type { Role } from '../identity/roles.js';
import { LedgerError } from '../shared/ledger-error.js';
import type { ErasureApprovedData, ErasureEvent } from './erasure.events.js';

// The decider of one erasure stream (`erasure-<target>`): two distinct principals holding both `security` and
// `admin` approve; the second approval erases. Time arrives on the command.

/** The fields of an execution that can be stored encrypted, hence erased. */
export const ERASABLE_FIELDS = ['command', 'output.text'] as const;
export type ErasableField = (typeof ERASABLE_FIELDS)[number];
export const ERASURE_ROLES: readonly Role[] = ['security', 'admin'];

export interface ApproveErasure {
  type: 'ApproveErasure';
  streamId: string;
  reason: string;
  by: { id: string; roles: readonly Role[] };
  /** The fields the ledger stores encrypted (its configuration): those whose plaintext the erasure destroys. */
  fields: readonly ErasableField[];
  now: string;
}

export interface ErasureState {
  approvals: readonly ErasureApprovedData[];
  erased: boolean;
}

export class ErasureForbiddenError extends LedgerError {
  readonly code = 'ERASURE.FORBIDDEN';
  constructor(readonly principalId: string) {
    super(`${principalId} may not approve an erasure: it takes a principal holding both security and admin`);
  }
}

export class ErasureSameApproverError extends LedgerError {
  readonly code = 'ERASURE.SECOND_APPROVER_REQUIRED';
  constructor(
    readonly streamId: string,
    readonly principalId: string,
  ) {
    super(
      `${principalId} already approved the erasure of ${streamId}: a second, distinct principal must approve it ` +
        `(two-person rule)`,
    );
  }
}

export class AlreadyErasedError extends LedgerError {
  readonly code = 'ERASURE.ALREADY_ERASED';
  constructor(readonly streamId: string) {
    super(`The payloads of ${streamId} are erased already`);
  }
}

export const initialErasureState = (): ErasureState => ({ approvals: [], erased: false });

export function evolveErasure(state: ErasureState, event: ErasureEvent): ErasureState {
  switch (event.type) {
    case 'ErasureApproved':
      return { ...state, approvals: [...state.approvals, event.data] };
    case 'PayloadErased':
      return { approvals: [], erased: true };
  }
}

const holdsEvery = (held: readonly Role[], required: readonly Role[]) => required.every((role) => held.includes(role));

export function decideErasure(command: ApproveErasure, state: ErasureState): ErasureEvent[] {
  if (!holdsEvery(command.by.roles, ERASURE_ROLES)) throw new ErasureForbiddenError(command.by.id);
  if (state.erased) throw new AlreadyErasedError(command.streamId);
  if (state.approvals.some((approval) => approval.approvedBy === command.by.id))
    throw new ErasureSameApproverError(command.streamId, command.by.id);
  const approved: ErasureEvent = {
    type: 'ErasureApproved',
    data: { streamId: command.streamId, approvedBy: command.by.id, reason: command.reason, approvedAt: command.now },
  };
  if (state.approvals.length === 0) return [approved];
  const first = state.approvals[0]!;
  return [
    approved,
    {
      type: 'PayloadErased',
      data: {
        streamId: command.streamId,
        approvedBy: [first.approvedBy, command.by.id],
        reason: first.reason === command.reason ? first.reason : `${first.reason} / ${command.reason}`,
        fields: [...command.fields],
        erasedAt: command.now,
      },
    },
  ];
}

export const erasureDecider = { decide: decideErasure, evolve: evolveErasure, initialState: initialErasureState };
