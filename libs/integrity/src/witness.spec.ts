import { GENESIS_CHECKPOINT_HASH, sealCheckpoint, type SealedCheckpoint } from './checkpoint.js';
import { generateSigningKeyPair, parseSigningKey, publicKeyRing } from './signing-keys.js';
import {
  checkRollbackAcknowledgementSignature,
  compareWithWitness,
  GENESIS_HEAD,
  headOf,
  parseWitnessRecord,
  signRollbackAcknowledgement,
  witnessAcceptsCheckpoint,
  witnessAcceptsRollback,
} from './witness.js';

const key = parseSigningKey(generateSigningKeyPair().privateKeyPem);
const seal = (from: number, to: number, previous: string): SealedCheckpoint =>
  sealCheckpoint(
    {
      fromPosition: String(from),
      toPosition: String(to),
      count: to - from + 1,
      merkleRoot: String(from % 10).repeat(64),
      previousCheckpointHash: previous,
      sealedAt: '2026-01-02T03:04:05.000Z',
      absent: [],
    },
    key,
  );
const first = seal(1, 10, GENESIS_CHECKPOINT_HASH);
const second = seal(11, 20, first.checkpointHash);
const forkOfSecond = seal(11, 25, first.checkpointHash);

describe('witness protocol', () => {
  it('accepts only checkpoints that chain on its head, and a repeat of the head', () => {
    expect(witnessAcceptsCheckpoint(null, second)).toEqual({ accept: true, duplicate: false });
    expect(witnessAcceptsCheckpoint(headOf(first), second)).toEqual({ accept: true, duplicate: false });
    expect(witnessAcceptsCheckpoint(headOf(second), second)).toEqual({ accept: true, duplicate: true });
    const refused = witnessAcceptsCheckpoint(headOf(second), forkOfSecond);
    expect(refused).toMatchObject({ accept: false, head: headOf(second) });
    // right previous hash, wrong range start: refused too
    expect(witnessAcceptsCheckpoint(headOf(first), seal(12, 20, first.checkpointHash)).accept).toBe(false);
  });

  it('takes a signed rollback acknowledgement only when it names the head, and chains on from where it resumed', () => {
    const ack = signRollbackAcknowledgement(
      {
        abandoned: headOf(second),
        resumedFrom: headOf(first),
        eventId: 'e1',
        acknowledgedBy: 'ops:alice',
        acknowledgedAt: '2026-01-02T03:04:06.000Z',
      },
      key,
    );
    expect(checkRollbackAcknowledgementSignature(ack, publicKeyRing([key.publicKey]))).toBeNull();
    expect(
      checkRollbackAcknowledgementSignature({ ...ack, acknowledgedBy: 'mallory' }, publicKeyRing([key.publicKey])),
    ).toBe('bad_signature');
    expect(witnessAcceptsRollback(headOf(first), first, ack).accept).toBe(false);
    expect(witnessAcceptsRollback(headOf(second), second, ack)).toEqual({ accept: true, duplicate: false });
    const record = parseWitnessRecord(JSON.parse(JSON.stringify({ rollbackAcknowledged: ack })));
    expect(record).toEqual({ rollbackAcknowledged: ack });
    expect(witnessAcceptsRollback(headOf(record!), record, ack)).toEqual({ accept: true, duplicate: true });
    expect(witnessAcceptsCheckpoint(headOf(record!), forkOfSecond)).toEqual({ accept: true, duplicate: false });
  });

  it('compares a database with its witness: consistent, behind, forked', () => {
    expect(compareWithWitness(null, GENESIS_HEAD, null)).toEqual({ status: 'consistent' });
    expect(compareWithWitness(headOf(first), headOf(second), headOf(first))).toEqual({ status: 'consistent' });
    expect(compareWithWitness(headOf(second), headOf(first), null)).toMatchObject({ status: 'behind' });
    expect(compareWithWitness(headOf(second), GENESIS_HEAD, null)).toMatchObject({ status: 'behind' });
    expect(compareWithWitness(headOf(forkOfSecond), headOf(forkOfSecond), headOf(second))).toMatchObject({
      status: 'forked',
    });
    expect(compareWithWitness(headOf(second), headOf(forkOfSecond), null)).toMatchObject({ status: 'forked' });
  });
});
