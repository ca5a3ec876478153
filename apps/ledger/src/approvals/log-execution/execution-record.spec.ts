import { createHash, createHmac } from 'node:crypto';
import { Redactor } from '@audit-ledger/domain';
import { deriveRedactionKey, redactionFingerprint } from '@audit-ledger/integrity';
import { capOutput, toExecutionRecord, tokenHashOf } from './execution-record.js';

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

describe('execution record', () => {
  const redactor = new Redactor(redactionFingerprint(deriveRedactionKey('server-secret-key')));
  const githubToken = `ghp_${'aB3dE6gH9j'.repeat(3)}aB3dE6`;
  const request = {
    executionId: 'e-1',
    approvalId: 'a-1',
    workerId: 'w-1',
    toolName: 'shell',
    command: `curl -H "Authorization: token ${githubToken}" https://api.github.com/user`,
    output: `export AWS_ACCESS_KEY_ID=AKIAZ7QX3M4P2LRT5NWE\nok`,
    exitCode: 0,
    artifacts: [{ path: `/tmp/${githubToken}.log`, sha256: 'b'.repeat(64), bytes: 3 }],
    startedAt: '2026-12-07T08:00:00.000Z',
    finishedAt: '2026-12-07T08:00:01.000Z',
  };

  it('redacts command, output and artifact paths, while the output digest and size cover the original', () => {
    const { data, redactions } = toExecutionRecord(request, { outputCapBytes: 1024, tokenSecret: 'k', redactor });
    const stored = JSON.stringify(data);
    expect(stored).not.toContain(githubToken);
    expect(stored).not.toContain('AKIAZ7QX3M4P2LRT5NWE');
    expect(data.output).toMatchObject({ sha256: sha256(request.output), bytes: Buffer.byteLength(request.output) });
    expect(data.command).toMatch(/^curl -H "Authorization: token \[REDACTED:github-token:[0-9a-f]{8}\]" https:/);
    expect(redactions).toEqual([
      { field: 'command', rule: 'github-token', count: 1 },
      { field: 'output', rule: 'aws-access-key', count: 1 },
      { field: 'artifacts[0].path', rule: 'github-token', count: 1 },
    ]);
  });

  it('redacts a retry exactly as the original (so it stays a duplicate)', () => {
    const options = { outputCapBytes: 1024, tokenSecret: 'k', redactor };
    expect(toExecutionRecord(request, options)).toEqual(toExecutionRecord({ ...request }, options));
  });
});
