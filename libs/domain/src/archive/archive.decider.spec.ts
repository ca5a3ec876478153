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

const given = (events: ArchiveStreamEvent[]) => events.reduce(evolveArchives, initialArchivesState());
const when = (events: ArchiveStreamEvent[], command: ArchiveCommand) => decideArchive(command, given(events));
const approve = (by: Approver): ArchiveCommand => ({ type: 'ApproveDrop', data: { archiveId: '1-100' }, by, now });
const drop = (by: Approver): ArchiveCommand => ({ type: 'DropArchive', data: { archiveId: '1-100' }, by, now });

describe('archive decider: the two-person rule for dropping an archived range', () => {
  it('seals the first archive from position 1 and refuses one that does not follow the last', () => {
    expect(when([], { type: 'SealArchive', data: sealed })).toEqual([sealedEvent]);
    expect(when([sealedEvent], { type: 'SealArchive', data: sealed })).toEqual([]);
    const gap = { ...sealed, archiveId: '102-200', fromPosition: '102', toPosition: '200' };
    expect(() => when([sealedEvent], { type: 'SealArchive', data: gap })).toThrow(ArchiveOverlapError);
  });

  it('records an admin approval as an event naming the principal', () => {
    expect(when([sealedEvent], approve(alice))).toEqual([approved(alice)]);
  });

  it('refuses an approval by a non-admin, a repeated approval, or of an unknown archive', () => {
    expect(() => when([sealedEvent], approve(reader))).toThrow(ArchiveNotAdminError);
    expect(() => when([sealedEvent, approved(alice)], approve(alice))).toThrow(ArchiveAlreadyApprovedError);
    expect(() => when([], approve(alice))).toThrow(ArchiveNotFoundError);
  });

  it('refuses the drop with one approval, and with none', () => {
    expect(() => when([sealedEvent, approved(alice)], drop(alice))).toThrow(ArchiveDropNotApprovedError);
    expect(() => when([sealedEvent], drop(bob))).toThrow(ArchiveDropNotApprovedError);
  });

  it('lets an admin drop after two distinct admins approved, and names both', () => {
    const state = given([sealedEvent, approved(alice), approved(bob)]);
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
    expect(() => when(history, drop(alice))).toThrow(ArchiveAlreadyDroppedError);
    expect(() => when(history, approve(alice))).toThrow(ArchiveAlreadyDroppedError);
  });
});
