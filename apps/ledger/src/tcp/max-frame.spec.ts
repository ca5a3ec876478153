import { LogExecutionRequest, MAX_RAW_OUTPUT_CHARS, MESSAGE_PATTERNS } from '@audit-ledger/domain';
import { randomUUID } from 'node:crypto';
import { DEFAULT_TCP_MAX_FRAME_BYTES, HTTP_BODY_LIMIT_BYTES } from '../config/ledger.config.js';

const MiB = 1024 * 1024;

/**
 * The largest valid command whose text needs no more than two JSON characters per character (quotes, backslashes,
 * newlines): `executions.log` with every field at its maximum, every string made of `"`.
 */
function largestCommand(): Record<string, unknown> {
  return {
    executionId: 'e'.repeat(128),
    approvalId: 'a'.repeat(128),
    workerId: 'w'.repeat(128),
    toolName: '"'.repeat(256),
    command: '"'.repeat(65_536),
    output: '"'.repeat(MAX_RAW_OUTPUT_CHARS),
    exitCode: -1,
    artifacts: Array.from({ length: 1024 }, () => ({
      path: '"'.repeat(4096),
      sha256: 'f'.repeat(64),
      bytes: Number.MAX_SAFE_INTEGER,
    })),
    startedAt: '2026-11-23T10:00:00.000+00:00',
    finishedAt: '2026-11-23T10:00:01.000+00:00',
    durationMs: Number.MAX_SAFE_INTEGER,
    tokenHash: 'f'.repeat(64),
  };
}

describe('the default maximum TCP frame size', () => {
  it('holds the largest valid command as Nest frames it, with a few MiB to spare', () => {
    const command = largestCommand();
    expect(LogExecutionRequest.safeParse(command).success).toBe(true);
    const json = JSON.stringify({ pattern: MESSAGE_PATTERNS.logExecution, data: command, id: randomUUID() });
    const frameBytes = Buffer.byteLength(`${json.length}#${json}`);

    expect(frameBytes).toBeLessThan(DEFAULT_TCP_MAX_FRAME_BYTES);
    expect(DEFAULT_TCP_MAX_FRAME_BYTES - frameBytes).toBeGreaterThan(4 * MiB);
    expect(DEFAULT_TCP_MAX_FRAME_BYTES - frameBytes).toBeLessThan(10 * MiB);
    expect(DEFAULT_TCP_MAX_FRAME_BYTES).toBeGreaterThan(HTTP_BODY_LIMIT_BYTES); // whatever HTTP accepts, TCP does
  });
});
