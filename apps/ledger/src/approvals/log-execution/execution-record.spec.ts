import { createHash, createHmac } from 'node:crypto';
import { capOutput, tokenHashOf } from './execution-record.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('stored output', () => {
  it('keeps a short output whole, with its digest and size', () => {
    expect(capOutput('hello', 64)).toEqual({ text: 'hello', truncated: false, sha256: sha256('hello'), bytes: 5 });
  });

  it('cuts a long output at the cap without splitting a character, keeping the full digest and size', () => {
    const output = 'é'.repeat(10); // 2 bytes each
    const stored = capOutput(output, 5);
    expect(stored).toEqual({ text: 'éé', truncated: true, sha256: sha256(output), bytes: 20 });
  });

  it('stores NUL as U+FFFD (jsonb cannot hold it) while the digest covers the original', () => {
    expect(capOutput('a\u0000b', 64)).toMatchObject({ text: 'a\ufffdb', sha256: sha256('a\u0000b') });
  });
});

describe('token hash', () => {
  it('is an HMAC-SHA256 of a raw token with the server key, never a bare SHA-256', () => {
    const expected = createHmac('sha256', 'server-secret-key').update('tok-123').digest('hex');
    expect(tokenHashOf({ token: 'tok-123' }, 'server-secret-key')).toBe(expected);
    expect(tokenHashOf({ token: 'tok-123' }, 'server-secret-key')).not.toBe(sha256('tok-123'));
  });

  it('keeps a hash computed by a client that holds the key', () => {
    expect(tokenHashOf({ tokenHash: 'a'.repeat(64) }, 'k')).toBe('a'.repeat(64));
  });
});
