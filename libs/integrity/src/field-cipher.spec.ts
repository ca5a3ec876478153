import { randomBytes } from 'node:crypto';
import {
  openField,
  sealField,
  sealedFieldKeyId,
  SealedFieldError,
  unwrapDataKey,
  wrapDataKey,
} from './field-cipher.js';

describe('sealed fields', () => {
  const key = randomBytes(32);

  it('given a field sealed under a key, when opened with the same key and place, then it reads as it was', () => {
    const sealed = sealField(key, 'k1', 'approval-a/e-1/output', 'secret output é');
    expect(sealed).not.toContain('secret');
    expect(sealedFieldKeyId(sealed)).toBe('k1');
    expect(openField(key, 'approval-a/e-1/output', sealed)).toBe('secret output é');
  });

  it('seals the same field of the same event to the same text (a retry compares equal), another place differently', () => {
    expect(sealField(key, 'k1', 'p', 'x')).toBe(sealField(key, 'k1', 'p', 'x'));
    expect(sealField(key, 'k1', 'q', 'x')).not.toBe(sealField(key, 'k1', 'p', 'x'));
  });

  it('refuses a field moved to another place, edited, or opened with another key', () => {
    const sealed = sealField(key, 'k1', 'p', 'text');
    expect(() => openField(key, 'q', sealed)).toThrow(SealedFieldError);
    expect(() => openField(randomBytes(32), 'p', sealed)).toThrow(SealedFieldError);
    const edited = `${sealed.slice(0, -2)}${sealed.endsWith('A') ? 'B' : 'A'}A`;
    expect(() => openField(key, 'p', edited)).toThrow(SealedFieldError);
  });

  it('wraps a data key under the master key; another master key cannot unwrap it', () => {
    const master = randomBytes(32);
    const wrapped = wrapDataKey(master, key, 'k1');
    expect(unwrapDataKey(master, wrapped, 'k1').equals(key)).toBe(true);
    expect(() => unwrapDataKey(randomBytes(32), wrapped, 'k1')).toThrow(SealedFieldError);
  });
});
