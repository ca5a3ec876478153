import {
  ArchiveAlreadyApprovedError,
  ArchiveAlreadyDroppedError,
  ArchiveDropNotApprovedError,
  ArchiveNotAdminError,
  ArchiveNotFoundError,
  ArchiveOverlapError,
  decideArchive,
  dropApprovers,
  evolveArchives,
  initialArchivesState,
  type Approver,
  type ArchiveCommand,
} from './archive.decider.js';
import type { ArchiveSealedData, ArchiveStreamEvent } from './archive.events.js';
import { DeciderSpecification } from '../testing/decider-specification.js';

const now = '2026-12-07T10:00:00.000Z';
const alice: Approver = { id: 'key:alice/aaaa', roles: ['admin'] };
const bob: Approver = { id: 'key:bob/bbbb', roles: ['admin', 'security'] };
const reader: Approver = { id: 'key:rita/cccc', roles: ['reader'] };

const sealed: ArchiveSealedData = {
  archiveId: '1-100',
  fromPosition: '1',
  toPosition: '100',
  partitions: ['events_p000001'],
  merkleRoot: 'a'.repeat(64),
  eventCount: 100,
  files: [],
  lastCheckpointHash: 'b'.repeat(64),
  sealedBy: alice.id,
  sealedAt: now,
};
const sealedEvent: ArchiveStreamEvent = { type: 'ArchiveSealed', data: sealed };
const approved = (by: Approver): ArchiveStreamEvent => ({
  type: 'ArchiveDropApproved',
  data: { archiveId: '1-100', approvedBy: by.id, approvedAt: now },
});

const spec = DeciderSpecification.for({
  decide: decideArchive,
  evolve: evolveArchives,
  initialState: initialArchivesState,
});
const stateOf = (events: ArchiveStreamEvent[]) => events.reduce(evolveArchives, initialArchivesState());
const approve = (by: Approver): ArchiveCommand => ({ type: 'ApproveDrop', data: { archiveId: '1-100' }, by, now });
const drop = (by: Approver): ArchiveCommand => ({ type: 'DropArchive', data: { archiveId: '1-100' }, by, now });

describe('archive decider: the two-person rule for dropping an archived range', () => {
  it('seals the first archive from position 1 and refuses one that does not follow the last', () => {
    spec.given([]).when({ type: 'SealArchive', data: sealed }).then([sealedEvent]);
    spec.given([sealedEvent]).when({ type: 'SealArchive', data: sealed }).thenNothing();
    const gap = { ...sealed, archiveId: '102-200', fromPosition: '102', toPosition: '200' };
    spec.given([sealedEvent]).when({ type: 'SealArchive', data: gap }).thenThrows(ArchiveOverlapError);
  });

  it('records an admin approval as an event naming the principal', () => {
    spec
      .given([sealedEvent])
      .when(approve(alice))
      .then([approved(alice)]);
  });

  it('refuses an approval by a non-admin, a repeated approval, or of an unknown archive', () => {
    spec.given([sealedEvent]).when(approve(reader)).thenThrows(ArchiveNotAdminError);
    spec
      .given([sealedEvent, approved(alice)])
      .when(approve(alice))
      .thenThrows(ArchiveAlreadyApprovedError);
    spec.given([]).when(approve(alice)).thenThrows(ArchiveNotFoundError);
  });

  it('refuses the drop with one approval, and with none', () => {
    spec
      .given([sealedEvent, approved(alice)])
      .when(drop(alice))
      .thenThrows(ArchiveDropNotApprovedError);
    spec.given([sealedEvent]).when(drop(bob)).thenThrows(ArchiveDropNotApprovedError);
  });

  it('lets an admin drop after two distinct admins approved, and names both', () => {
    const state = stateOf([sealedEvent, approved(alice), approved(bob)]);
    expect(dropApprovers(state, '1-100', alice)).toEqual([alice.id, bob.id]);
    expect(() => dropApprovers(state, '1-100', reader)).toThrow(ArchiveNotAdminError);
  });

  it('refuses anything more once the archive was dropped', () => {
    const dropped: ArchiveStreamEvent = {
      type: 'ArchiveDropped',
      data: {
        ...sealed,
        approvedBy: [alice.id, bob.id],
        droppedBy: alice.id,
        droppedAt: now,
        keyId: 'k',
        tombstoneHash: 'c'.repeat(64),
        signature: 's',
      },
    };
    const history = [sealedEvent, approved(alice), approved(bob), dropped];
    spec.given(history).when(drop(alice)).thenThrows(ArchiveAlreadyDroppedError);
    spec.given(history).when(approve(alice)).thenThrows(ArchiveAlreadyDroppedError);
  });
});
