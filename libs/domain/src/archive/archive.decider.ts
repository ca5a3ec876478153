import { LedgerError } from '../shared/ledger-error.js';
import type { Role } from '../identity/roles.js';
import type { ArchiveDroppedData, ArchiveSealedData, ArchiveStreamEvent } from './archive.events.js';

// The decider of the `archives` stream: the two-person rule for dropping an archived range. Pure: the principal,
// its roles and the time arrive on the command; the tombstone's signature is made by the caller.

export interface Approver {
  id: string;
  roles: readonly Role[];
}

export type ArchiveCommand =
  | { type: 'SealArchive'; data: ArchiveSealedData }
  | { type: 'ApproveDrop'; data: { archiveId: string; reason?: string }; by: Approver; now: string }
  | { type: 'DropArchive'; data: { archiveId: string }; by: Approver; now: string };

export interface ArchiveState {
  sealed: ArchiveSealedData;
  approvals: { by: string; at: string }[];
  dropped?: ArchiveDroppedData;
}

export interface ArchivesState {
  archives: ReadonlyMap<string, ArchiveState>;
  /** The last position sealed into an archive (0 when none). */
  archivedThrough: bigint;
}

/** Approvals needed before a drop, from distinct admin principals. */
export const DROP_APPROVALS_REQUIRED = 2;

export class ArchiveNotFoundError extends LedgerError {
  readonly code = 'ARCHIVE.NOT_FOUND';
  constructor(readonly archiveId: string) {
    super(`No archive ${archiveId} was sealed: run ledger archive --before DATE first`);
  }
}

export class ArchiveNotAdminError extends LedgerError {
  readonly code = 'ARCHIVE.NOT_ADMIN';
  constructor(
    readonly principal: string,
    readonly action: string,
  ) {
    super(`${principal} may not ${action}: it needs the admin role`);
  }
}

export class ArchiveAlreadyApprovedError extends LedgerError {
  readonly code = 'ARCHIVE.ALREADY_APPROVED';
  constructor(
    readonly archiveId: string,
    readonly principal: string,
  ) {
    super(
      `${principal} already approved dropping archive ${archiveId}: a second approval must come from another admin`,
    );
  }
}

export class ArchiveDropNotApprovedError extends LedgerError {
  readonly code = 'ARCHIVE.DROP_NOT_APPROVED';
  constructor(
    readonly archiveId: string,
    readonly approvers: readonly string[],
  ) {
    super(
      `archive ${archiveId} has ${approvers.length} of ${DROP_APPROVALS_REQUIRED} approvals from distinct admins` +
        (approvers.length > 0 ? ` (${approvers.join(', ')})` : '') +
        ': the drop is refused',
    );
  }
}

export class ArchiveAlreadyDroppedError extends LedgerError {
  readonly code = 'ARCHIVE.ALREADY_DROPPED';
  constructor(
    readonly archiveId: string,
    readonly droppedAt: string,
  ) {
    super(`archive ${archiveId} was already dropped at ${droppedAt}`);
  }
}

export class ArchiveOverlapError extends LedgerError {
  readonly code = 'ARCHIVE.OVERLAP';
  constructor(
    readonly fromPosition: string,
    readonly archivedThrough: bigint,
  ) {
    super(
      `an archive starting at ${fromPosition} must start right after the last archived position ${archivedThrough}`,
    );
  }
}

export const initialArchivesState = (): ArchivesState => ({ archives: new Map(), archivedThrough: 0n });

export function evolveArchives(state: ArchivesState, event: ArchiveStreamEvent): ArchivesState {
  const archives = new Map(state.archives);
  let archivedThrough = state.archivedThrough;
  switch (event.type) {
    case 'ArchiveSealed':
      archives.set(event.data.archiveId, { sealed: event.data, approvals: [] });
      archivedThrough = BigInt(event.data.toPosition);
      break;
    case 'ArchiveDropApproved': {
      const archive = archives.get(event.data.archiveId);
      if (archive) {
        archives.set(event.data.archiveId, {
          ...archive,
          approvals: [...archive.approvals, { by: event.data.approvedBy, at: event.data.approvedAt }],
        });
      }
      break;
    }
    case 'ArchiveDropped': {
      const archive = archives.get(event.data.archiveId);
      if (archive) archives.set(event.data.archiveId, { ...archive, dropped: event.data });
      break;
    }
  }
  return { archives, archivedThrough };
}

/**
 * The events a command produces, or the error that refuses it. `DropArchive` decides nothing itself: it returns the
 * approvers the tombstone must name, and the caller appends the signed `ArchiveDropped` after detaching.
 */
export function decideArchive(command: ArchiveCommand, state: ArchivesState): ArchiveStreamEvent[] {
  switch (command.type) {
    case 'SealArchive': {
      if (state.archives.has(command.data.archiveId)) return []; // a retried seal of the same range decides nothing
      if (BigInt(command.data.fromPosition) !== state.archivedThrough + 1n) {
        throw new ArchiveOverlapError(command.data.fromPosition, state.archivedThrough);
      }
      return [{ type: 'ArchiveSealed', data: command.data }];
    }
    case 'ApproveDrop': {
      const archive = sealedArchive(state, command.data.archiveId);
      requireAdmin(command.by, `approve dropping archive ${command.data.archiveId}`);
      if (archive.approvals.some((approval) => approval.by === command.by.id)) {
        throw new ArchiveAlreadyApprovedError(command.data.archiveId, command.by.id);
      }
      return [
        {
          type: 'ArchiveDropApproved',
          data: {
            archiveId: command.data.archiveId,
            approvedBy: command.by.id,
            approvedAt: command.now,
            ...(command.data.reason !== undefined ? { reason: command.data.reason } : {}),
          },
        },
      ];
    }
    case 'DropArchive': {
      dropApprovers(state, command.data.archiveId, command.by);
      return [];
    }
  }
}

/** The distinct admins who approved dropping the archive; throws unless the drop may go ahead now. */
export function dropApprovers(state: ArchivesState, archiveId: string, by: Approver): string[] {
  const archive = sealedArchive(state, archiveId);
  requireAdmin(by, `drop archive ${archiveId}`);
  const approvers = [...new Set(archive.approvals.map((approval) => approval.by))];
  if (approvers.length < DROP_APPROVALS_REQUIRED) throw new ArchiveDropNotApprovedError(archiveId, approvers);
  return approvers;
}

function sealedArchive(state: ArchivesState, archiveId: string): ArchiveState {
  const archive = state.archives.get(archiveId);
  if (!archive) throw new ArchiveNotFoundError(archiveId);
  if (archive.dropped) throw new ArchiveAlreadyDroppedError(archiveId, archive.dropped.droppedAt);
  return archive;
}

function requireAdmin(by: Approver, action: string): void {
  if (!by.roles.includes('admin')) throw new ArchiveNotAdminError(by.id, action);
}
