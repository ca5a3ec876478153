import { createHash, sign, verify } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import type { PublicKeyRing, SigningKey } from './signing-keys.js';

/** The previousCheckpointHash of the first checkpoint. */
export const GENESIS_CHECKPOINT_HASH = '0'.repeat(64);

/**
 * What a checkpoint commits to (the storage format is a contract: docs/integrity.md). Positions are decimal strings
 * so that 64-bit positions survive JSON. The range is inclusive and contiguous with the previous checkpoint's:
 * fromPosition = previous toPosition + 1 (1 for the first). `absent` lists the positions of the range that held no
 * event when it was sealed (sequence values of rolled-back appends), as inclusive [from, to] pairs, ascending;
 * count = the number of leaves = the range's size minus the absent positions.
 */
export interface CheckpointFields {
  fromPosition: string;
  toPosition: string;
  count: number;
  /** Hex MTH (RFC 6962) over the event hashes of the range in global-position order. */
  merkleRoot: string;
  previousCheckpointHash: string;
  keyId: string;
  /** ISO 8601 UTC. */
  sealedAt: string;
  absent: [string, string][];
}

/** The data of a `CheckpointSealed` event, and one line of a witness file. */
export interface SealedCheckpoint extends CheckpointFields {
  /** hex(SHA-256(utf8(canonicalJson(fields)))) */
  checkpointHash: string;
  /** base64(Ed25519 signature over utf8(canonicalJson(fields))) */
  signature: string;
}

export const CHECKPOINT_FIELD_NAMES = [
  'fromPosition',
  'toPosition',
  'count',
  'merkleRoot',
  'previousCheckpointHash',
  'keyId',
  'sealedAt',
  'absent',
] as const satisfies readonly (keyof CheckpointFields)[];

export function checkpointFieldsOf(checkpoint: CheckpointFields): CheckpointFields {
  return {
    fromPosition: checkpoint.fromPosition,
    toPosition: checkpoint.toPosition,
    count: checkpoint.count,
    merkleRoot: checkpoint.merkleRoot,
    previousCheckpointHash: checkpoint.previousCheckpointHash,
    keyId: checkpoint.keyId,
    sealedAt: checkpoint.sealedAt,
    absent: checkpoint.absent,
  };
}

export function canonicalCheckpoint(checkpoint: CheckpointFields): Buffer {
  return Buffer.from(canonicalJson(checkpointFieldsOf(checkpoint)), 'utf8');
}

export function checkpointHash(checkpoint: CheckpointFields): string {
  return createHash('sha256').update(canonicalCheckpoint(checkpoint)).digest('hex');
}

export function sealCheckpoint(fields: Omit<CheckpointFields, 'keyId'>, key: SigningKey): SealedCheckpoint {
  const complete = checkpointFieldsOf({ ...fields, keyId: key.keyId });
  const bytes = canonicalCheckpoint(complete);
  return {
    ...complete,
    checkpointHash: createHash('sha256').update(bytes).digest('hex'),
    signature: sign(null, bytes, key.privateKey).toString('base64'),
  };
}

export type CheckpointSignatureProblem =
  | { kind: 'unknown_key'; keyId: string }
  | { kind: 'bad_signature'; keyId: string }
  | { kind: 'wrong_checkpoint_hash'; expected: string; actual: string };

/** Null when the checkpoint's hash is right and its signature verifies with the key it names. */
export function checkCheckpointSignature(
  checkpoint: SealedCheckpoint,
  keys: PublicKeyRing,
): CheckpointSignatureProblem | null {
  const bytes = canonicalCheckpoint(checkpoint);
  const expected = createHash('sha256').update(bytes).digest('hex');
  if (expected !== checkpoint.checkpointHash) {
    return { kind: 'wrong_checkpoint_hash', expected, actual: checkpoint.checkpointHash };
  }
  const key = keys.get(checkpoint.keyId);
  if (!key) return { kind: 'unknown_key', keyId: checkpoint.keyId };
  let valid: boolean;
  try {
    valid = verify(null, bytes, key, Buffer.from(checkpoint.signature, 'base64'));
  } catch {
    valid = false;
  }
  return valid ? null : { kind: 'bad_signature', keyId: checkpoint.keyId };
}

/** Reads a checkpoint from untrusted JSON (an event's data, a witness line); null when its shape is wrong. */
export function parseSealedCheckpoint(value: unknown): SealedCheckpoint | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  const isPosition = (x: unknown): x is string => typeof x === 'string' && /^(0|[1-9]\d{0,18})$/.test(x);
  const isHex64 = (x: unknown): x is string => typeof x === 'string' && /^[0-9a-f]{64}$/.test(x);
  const absentOk =
    Array.isArray(v.absent) &&
    v.absent.every((pair) => Array.isArray(pair) && pair.length === 2 && isPosition(pair[0]) && isPosition(pair[1]));
  if (
    !isPosition(v.fromPosition) ||
    !isPosition(v.toPosition) ||
    typeof v.count !== 'number' ||
    !Number.isSafeInteger(v.count) ||
    !isHex64(v.merkleRoot) ||
    !isHex64(v.previousCheckpointHash) ||
    typeof v.keyId !== 'string' ||
    typeof v.sealedAt !== 'string' ||
    !absentOk ||
    !isHex64(v.checkpointHash) ||
    typeof v.signature !== 'string'
  ) {
    return null;
  }
  return {
    ...checkpointFieldsOf(v as unknown as CheckpointFields),
    checkpointHash: v.checkpointHash,
    signature: v.signature,
  };
}
