import {
  AlreadyErasedError,
  erasureDecider,
  ErasureForbiddenError,
  ErasureSameApproverError,
  type ApproveErasure,
} from './erasure.decider.js';
import type { ErasureEvent } from './erasure.events.js';

const given = (events: ErasureEvent[]) => ({
  when: (command: ApproveErasure) => () =>
    erasureDecider.decide(command, events.reduce(erasureDecider.evolve, erasureDecider.initialState())),
});
const approve = (id: string, roles: ApproveErasure['by']['roles'] = ['security', 'admin']): ApproveErasure => ({
  type: 'ApproveErasure',
  streamId: 'approval-a1',
  reason: 'GDPR art. 17 request #42',
  by: { id, roles },
  fields: ['output.text'],
  now: '2026-12-07T10:00:00.000Z',
});
const approvedBy = (id: string): ErasureEvent => ({
  type: 'ErasureApproved',
  data: { streamId: 'approval-a1', approvedBy: id, reason: 'GDPR art. 17 request #42', approvedAt: 'T0' },
});

describe('erasure decider (two-person rule)', () => {
  it('given no approval, when a security admin approves, then only the approval is recorded', () => {
    expect(given([]).when(approve('alice'))()).toEqual([
      { type: 'ErasureApproved', data: expect.objectContaining({ approvedBy: 'alice' }) },
    ]);
  });

  it('given one approval, when the same principal approves again, then it is refused', () => {
    expect(given([approvedBy('alice')]).when(approve('alice'))).toThrow(ErasureSameApproverError);
  });

  it('given one approval, when a second distinct principal approves, then the payload is erased', () => {
    expect(given([approvedBy('alice')]).when(approve('bob'))()).toEqual([
      { type: 'ErasureApproved', data: expect.objectContaining({ approvedBy: 'bob' }) },
      {
        type: 'PayloadErased',
        data: expect.objectContaining({ streamId: 'approval-a1', approvedBy: ['alice', 'bob'] }),
      },
    ]);
  });

  it('refuses a principal without both security and admin', () => {
    expect(given([]).when(approve('carol', ['security']))).toThrow(ErasureForbiddenError);
    expect(given([approvedBy('alice')]).when(approve('dave', ['admin']))).toThrow(ErasureForbiddenError);
  });

  it('given an erased stream, when anyone approves, then it is refused as erased already', () => {
    const erased = given([approvedBy('alice')]).when(approve('bob'))();
    expect(given([approvedBy('alice'), ...erased]).when(approve('carol'))).toThrow(AlreadyErasedError);
  });
});
