import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import {
  checkCheckpointSignature,
  checkpointHash,
  GENESIS_CHECKPOINT_HASH,
  parseSealedCheckpoint,
  sealCheckpoint,
} from './checkpoint.js';
import {
  generateSigningKeyPair,
  keyIdOf,
  parsePublicKey,
  parseSigningKey,
  publicKeyRing,
  rawPublicKey,
} from './signing-keys.js';

const fields = {
  fromPosition: '1',
  toPosition: '10',
  count: 9,
  merkleRoot: 'ab'.repeat(32),
  previousCheckpointHash: GENESIS_CHECKPOINT_HASH,
  sealedAt: '2026-01-02T03:04:05.000Z',
  absent: [['4', '4']] as [string, string][],
};

describe('signing keys', () => {
  it('round-trips PEM and raw base64, and derives the key id from the raw public key', () => {
    const pair = generateSigningKeyPair();
    const fromPem = parseSigningKey(pair.privateKeyPem);
    expect(fromPem.keyId).toBe(pair.keyId);
    expect(pair.keyId).toBe(
      createHash('sha256').update(Buffer.from(pair.publicKeyRaw, 'base64')).digest('hex').slice(0, 16),
    );
    expect(keyIdOf(parsePublicKey(pair.publicKeyPem))).toBe(pair.keyId);
    expect(keyIdOf(parsePublicKey(pair.publicKeyRaw))).toBe(pair.keyId);
    const seed = fromPem.privateKey.export({ format: 'jwk' }).d!;
    expect(parseSigningKey(Buffer.from(seed, 'base64url').toString('base64')).keyId).toBe(pair.keyId);
    expect(rawPublicKey(fromPem.publicKey).toString('base64')).toBe(pair.publicKeyRaw);
  });

  it('refuses keys that are not Ed25519 or not 32 bytes', () => {
    expect(() => parsePublicKey(Buffer.alloc(31).toString('base64'))).toThrow(/32 bytes/);
    expect(() => parseSigningKey('not a key')).toThrow(/32 bytes|cannot read/);
  });
});

describe('checkpoints', () => {
  const current = parseSigningKey(generateSigningKeyPair().privateKeyPem);
  const retired = parseSigningKey(generateSigningKeyPair().privateKeyPem);
  const ring = publicKeyRing([current.publicKey, retired.publicKey]);

  it('hashes the canonical JSON of the fields and signs the same bytes', () => {
    const sealed = sealCheckpoint(fields, current);
    const canonical = canonicalJson({ ...fields, keyId: current.keyId });
    expect(sealed.checkpointHash).toBe(createHash('sha256').update(canonical).digest('hex'));
    expect(checkpointHash(sealed)).toBe(sealed.checkpointHash);
    expect(checkCheckpointSignature(sealed, ring)).toBeNull();
  });

  it('verifies checkpoints signed by a retired key that the ring still holds', () => {
    expect(checkCheckpointSignature(sealCheckpoint(fields, retired), ring)).toBeNull();
    expect(checkCheckpointSignature(sealCheckpoint(fields, retired), publicKeyRing([current.publicKey]))).toEqual({
      kind: 'unknown_key',
      keyId: retired.keyId,
    });
  });

  it('detects a changed field, a re-hashed change and a foreign signature', () => {
    const sealed = sealCheckpoint(fields, current);
    expect(checkCheckpointSignature({ ...sealed, count: 10 }, ring)).toMatchObject({ kind: 'wrong_checkpoint_hash' });
    const edited = { ...sealed, count: 10 };
    expect(checkCheckpointSignature({ ...edited, checkpointHash: checkpointHash(edited) }, ring)).toMatchObject({
      kind: 'bad_signature',
    });
    const forged = sealCheckpoint(fields, parseSigningKey(generateSigningKeyPair().privateKeyPem));
    expect(checkCheckpointSignature({ ...forged, keyId: current.keyId }, ring)).toMatchObject({
      kind: 'wrong_checkpoint_hash',
    });
    expect(checkCheckpointSignature(forged, ring)).toMatchObject({ kind: 'unknown_key' });
  });

  it('parses a checkpoint from untrusted JSON and refuses a wrong shape', () => {
    const sealed = sealCheckpoint(fields, current);
    expect(parseSealedCheckpoint(JSON.parse(JSON.stringify(sealed)))).toEqual(sealed);
    expect(parseSealedCheckpoint({ ...sealed, fromPosition: 1 })).toBeNull();
    expect(parseSealedCheckpoint({ ...sealed, absent: [['1']] })).toBeNull();
    expect(parseSealedCheckpoint(null)).toBeNull();
  });
});
