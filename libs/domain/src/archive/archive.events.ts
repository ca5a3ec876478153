// Events of the `archives` stream (issue 13, item 3). The stored `type` strings are a storage contract.

/** The stream holding every archive's life: sealed, drop approvals, dropped. */
export const ARCHIVES_STREAM = 'archives';

export interface ArchiveFile {
  /** File name, as written under the archive directory. */
  name: string;
  /** Inclusive global-position range of the range evidence bundle in the file, decimal strings. */
  fromPosition: string;
  toPosition: string;
  /** Hex SHA-256 of the file's bytes. */
  sha256: string;
  eventCount: number;
}

export interface ArchiveSealedData {
  /** `<fromPosition>-<toPosition>`. */
  archiveId: string;
  fromPosition: string;
  toPosition: string;
  /** The partitions of ledger.events the range is made of, in order. */
  partitions: string[];
  /** Hex RFC 6962 Merkle root over the hashes of every archived event, in position order. */
  merkleRoot: string;
  eventCount: number;
  files: ArchiveFile[];
  /** The last checkpoint whose range ends inside the archive (its range ends at toPosition). */
  lastCheckpointHash: string;
  sealedBy: string;
  sealedAt: string;
}

export interface ArchiveDropApprovedData {
  archiveId: string;
  approvedBy: string;
  approvedAt: string;
  reason?: string;
}

/**
 * The tombstone: the signed statement that the positions fromPosition..toPosition left the database. The signed
 * object is every member but `tombstoneHash` and `signature` (docs/integrity.md §12).
 */
export interface ArchiveDroppedData {
  archiveId: string;
  fromPosition: string;
  toPosition: string;
  partitions: string[];
  merkleRoot: string;
  files: ArchiveFile[];
  lastCheckpointHash: string;
  approvedBy: string[];
  droppedBy: string;
  droppedAt: string;
  keyId: string;
  tombstoneHash: string;
  signature: string;
}

export type ArchiveStreamEvent =
  | { type: 'ArchiveSealed'; data: ArchiveSealedData }
  | { type: 'ArchiveDropApproved'; data: ArchiveDropApprovedData }
  | { type: 'ArchiveDropped'; data: ArchiveDroppedData };

export const ARCHIVE_EVENT_TYPES = ['ArchiveSealed', 'ArchiveDropApproved', 'ArchiveDropped'] as const;

/** Events of the stream whose type this code knows (anything else is skipped by readers). */
export function isArchiveStreamEvent(event: { type: string; data: unknown }): event is ArchiveStreamEvent {
  return (ARCHIVE_EVENT_TYPES as readonly string[]).includes(event.type) && typeof event.data === 'object';
}
