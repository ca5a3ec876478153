import { DeciderSpecification } from '../testing/decider-specification.js';
import {
  AlreadyErasedError,
  erasureDecider,
  ErasureForbiddenError,
  ErasureSameApproverError,
  type ApproveErasure,
} from './erasure.decider.js';
import type { ErasureEvent } from './erasure.events.js';

const spec = DeciderSpecification.for(erasureDecider);
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
    spec
      .given([])
      .when(approve('alice'))
      .then([{ type: 'ErasureApproved', data: expect.objectContaining({ approvedBy: 'alice' }) }]);
  });

  it('given one approval, when the same principal approves again, then it is refused', () => {
    spec
      .given([approvedBy('alice')])
      .when(approve('alice'))
      .thenThrows(ErasureSameApproverError);
  });

  it('given one approval, when a second distinct principal approves, then the payload is erased', () => {
    spec
      .given([approvedBy('alice')])
      .when(approve('bob'))
      .then([
        { type: 'ErasureApproved', data: expect.objectContaining({ approvedBy: 'bob' }) },
        {
          type: 'PayloadErased',
          data: expect.objectContaining({ streamId: 'approval-a1', approvedBy: ['alice', 'bob'] }),
        },
      ]);
  });

  it('refuses a principal without both security and admin', () => {
    spec
      .given([])
      .when(approve('carol', ['security']))
      .thenThrows(ErasureForbiddenError);
    spec
      .given([approvedBy('alice')])
      .when(approve('dave', ['admin']))
      .thenThrows(ErasureForbiddenError);
  });

  it('given an erased stream, when anyone approves, then it is refused as erased already', () => {
    const erased = spec
      .given([approvedBy('alice')])
      .when(approve('bob'))
      .events();
    spec
      .given([approvedBy('alice'), ...erased])
      .when(approve('carol'))
      .thenThrows(AlreadyErasedError);
  });
});
