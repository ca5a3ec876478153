import { createHash, sign, verify } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import { GENESIS_CHECKPOINT_HASH, parseSealedCheckpoint, type SealedCheckpoint } from './checkpoint.js';
import type { PublicKeyRing, SigningKey } from './signing-keys.js';

/**
 * The witness protocol (docs/integrity.md §5): a witness holds an append-only log of records, each a sealed
 * checkpoint or a rollback acknowledgement. Its head is where the next checkpoint must chain on. A checkpoint is
 * accepted only when it chains on the head (so a witness never accepts a fork); an acknowledgement moves the head
 * back to an older point of the ledger (the database's newest checkpoint after a restore) only when it names the
 * head it abandons, so nobody moves a witness without saying exactly what is given up.
 */

/** Where the next checkpoint must chain on: its previousCheckpointHash and fromPosition - 1. */
export interface WitnessHead {
  checkpointHash: string;
  toPosition: string;
}

export const GENESIS_HEAD: WitnessHead = { checkpointHash: GENESIS_CHECKPOINT_HASH, toPosition: '0' };

/** What an operator acknowledged: the witness head given up, and the database's checkpoint the ledger resumes from. */
export interface RollbackAcknowledgementFields {
  abandoned: WitnessHead;
  resumedFrom: WitnessHead;
  /** The `RollbackAcknowledged` event that records it in the ledger. */
  eventId: string;
  acknowledgedBy: string;
  /** ISO 8601 UTC. */
  acknowledgedAt: string;
  keyId: string;
}

export interface RollbackAcknowledgement extends RollbackAcknowledgementFields {
  /** base64 Ed25519 signature over utf8(JCS(the six members above)), by the ledger's checkpoint signing key. */
  signature: string;
}

/** One record of a witness log (one line of a witness file: `JCS(record)`). */
export type WitnessRecord = SealedCheckpoint | { rollbackAcknowledged: RollbackAcknowledgement };

export function headOf(record: WitnessRecord): WitnessHead {
  if ('rollbackAcknowledged' in record) return record.rollbackAcknowledged.resumedFrom;
  return { checkpointHash: record.checkpointHash, toPosition: record.toPosition };
}

function acknowledgementFields(ack: RollbackAcknowledgementFields): RollbackAcknowledgementFields {
  return {
    abandoned: { checkpointHash: ack.abandoned.checkpointHash, toPosition: ack.abandoned.toPosition },
    resumedFrom: { checkpointHash: ack.resumedFrom.checkpointHash, toPosition: ack.resumedFrom.toPosition },
    eventId: ack.eventId,
    acknowledgedBy: ack.acknowledgedBy,
    acknowledgedAt: ack.acknowledgedAt,
    keyId: ack.keyId,
  };
}

export function signRollbackAcknowledgement(
  fields: Omit<RollbackAcknowledgementFields, 'keyId'>,
  key: SigningKey,
): RollbackAcknowledgement {
  const complete = acknowledgementFields({ ...fields, keyId: key.keyId });
  const bytes = Buffer.from(canonicalJson(complete), 'utf8');
  return { ...complete, signature: sign(null, bytes, key.privateKey).toString('base64') };
}

/** Null when the acknowledgement is signed by the key it names and that key is in the ring. */
export function checkRollbackAcknowledgementSignature(
  ack: RollbackAcknowledgement,
  keys: PublicKeyRing,
): 'unknown_key' | 'bad_signature' | null {
  const key = keys.get(ack.keyId);
  if (!key) return 'unknown_key';
  const bytes = Buffer.from(canonicalJson(acknowledgementFields(ack)), 'utf8');
  try {
    return verify(null, bytes, key, Buffer.from(ack.signature, 'base64')) ? null : 'bad_signature';
  } catch {
    return 'bad_signature';
  }
}

const isPosition = (x: unknown): x is string => typeof x === 'string' && /^(0|[1-9]\d{0,18})$/.test(x);
const isHex64 = (x: unknown): x is string => typeof x === 'string' && /^[0-9a-f]{64}$/.test(x);

function parseHead(value: unknown): WitnessHead | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  return isHex64(v.checkpointHash) && isPosition(v.toPosition)
    ? { checkpointHash: v.checkpointHash, toPosition: v.toPosition }
    : null;
}

export function parseRollbackAcknowledgement(value: unknown): RollbackAcknowledgement | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  const abandoned = parseHead(v.abandoned);
  const resumedFrom = parseHead(v.resumedFrom);
  const text = (x: unknown): x is string => typeof x === 'string' && x.length > 0 && x.length <= 500;
  if (
    !abandoned ||
    !resumedFrom ||
    !text(v.eventId) ||
    !text(v.acknowledgedBy) ||
    !text(v.acknowledgedAt) ||
    !text(v.keyId) ||
    !text(v.signature)
  ) {
    return null;
  }
  return {
    ...acknowledgementFields({
      abandoned,
      resumedFrom,
      eventId: v.eventId,
      acknowledgedBy: v.acknowledgedBy,
      acknowledgedAt: v.acknowledgedAt,
      keyId: v.keyId,
    }),
    signature: v.signature,
  };
}

/** A witness log record from untrusted JSON; null when it is neither a checkpoint nor an acknowledgement. */
export function parseWitnessRecord(value: unknown): WitnessRecord | null {
  if (typeof value === 'object' && value !== null && 'rollbackAcknowledged' in value) {
    const ack = parseRollbackAcknowledgement((value as { rollbackAcknowledged: unknown }).rollbackAcknowledged);
    return ack ? { rollbackAcknowledged: ack } : null;
  }
  return parseSealedCheckpoint(value);
}

export type WitnessDecision =
  { accept: true; duplicate: boolean } | { accept: false; reason: string; head: WitnessHead | null };

/**
 * Whether a witness whose head is `head` (null: it holds nothing) takes `checkpoint`: it must chain on the head
 * (previousCheckpointHash and fromPosition), or be the head itself (a retry). An empty witness takes any checkpoint,
 * so a witness can be added to a ledger that already has history.
 */
export function witnessAcceptsCheckpoint(head: WitnessHead | null, checkpoint: SealedCheckpoint): WitnessDecision {
  if (head === null) return { accept: true, duplicate: false };
  if (checkpoint.checkpointHash === head.checkpointHash) return { accept: true, duplicate: true };
  if (
    checkpoint.previousCheckpointHash === head.checkpointHash &&
    BigInt(checkpoint.fromPosition) === BigInt(head.toPosition) + 1n
  ) {
    return { accept: true, duplicate: false };
  }
  return {
    accept: false,
    head,
    reason:
      `checkpoint ${checkpoint.checkpointHash} (positions ${checkpoint.fromPosition}..${checkpoint.toPosition}, previous ` +
      `${checkpoint.previousCheckpointHash}) does not chain on the witness's head ${head.checkpointHash} (up to ` +
      `position ${head.toPosition}): a fork, refused`,
  };
}

/** Whether a witness whose head is `head` takes a rollback acknowledgement: it must name that head as abandoned. */
export function witnessAcceptsRollback(
  head: WitnessHead | null,
  last: WitnessRecord | null,
  ack: RollbackAcknowledgement,
): WitnessDecision {
  if (last && 'rollbackAcknowledged' in last && last.rollbackAcknowledged.eventId === ack.eventId) {
    return { accept: true, duplicate: true };
  }
  const current = head ?? GENESIS_HEAD;
  if (ack.abandoned.checkpointHash === current.checkpointHash && ack.abandoned.toPosition === current.toPosition) {
    return { accept: true, duplicate: false };
  }
  return {
    accept: false,
    head,
    reason: `the acknowledgement abandons ${ack.abandoned.checkpointHash} (up to position ${ack.abandoned.toPosition}), but the witness's head is ${current.checkpointHash} (up to position ${current.toPosition})`,
  };
}

/** How the database stands against a witness, from the database's checkpoint ending at the witness head's position. */
export type WitnessComparison =
  | { status: 'consistent' }
  | { status: 'behind'; witness: WitnessHead; database: WitnessHead }
  | { status: 'forked'; witness: WitnessHead; database: WitnessHead; databaseAtWitnessPosition: WitnessHead | null };

/**
 * `databaseHead`: the database's newest checkpoint (GENESIS_HEAD when none); `databaseAt`: the database's
 * checkpoint whose range ends exactly at the witness head's position, if any.
 */
export function compareWithWitness(
  witness: WitnessHead | null,
  databaseHead: WitnessHead,
  databaseAt: WitnessHead | null,
): WitnessComparison {
  // An empty witness, or one resumed from the genesis: every database chains on it.
  if (witness === null || witness.toPosition === '0') return { status: 'consistent' };
  if (databaseAt && databaseAt.checkpointHash === witness.checkpointHash) return { status: 'consistent' };
  if (BigInt(databaseHead.toPosition) < BigInt(witness.toPosition)) {
    return { status: 'behind', witness, database: databaseHead };
  }
  return { status: 'forked', witness, database: databaseHead, databaseAtWitnessPosition: databaseAt };
}

/** A short fingerprint of a witness record, for logs. */
export function witnessRecordHash(record: WitnessRecord): string {
  return createHash('sha256').update(canonicalJson(record)).digest('hex');
}
