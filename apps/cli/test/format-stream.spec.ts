import { badInput } from '../src/shared/cli-failure.js';
import { formatStream } from '../src/shared/format-stream.js';

describe('formatStream', () => {
  it('given a stream, when printed, then each event is one aligned line with its short hash and key fields', () => {
    const text = formatStream({
      streamId: 'approval-A1',
      events: [
        {
          eventId: 'e1',
          type: 'ApprovalGranted',
          streamRevision: 0,
          globalPosition: '41',
          data: { riskLevel: 'safe', approvedBy: 'alice', approvedCommands: ['docker compose ps'] },
          metadata: {},
          prevHash: null,
          hash: 'a'.repeat(64),
          recordedAt: '2026-11-23T10:00:00.000Z',
        },
        {
          eventId: 'e2',
          type: 'ExecutionLogged',
          streamRevision: 1,
          globalPosition: '1042',
          data: { executionId: 'x1', workerId: 'w1', exitCode: 0, command: 'docker compose ps' },
          metadata: {},
          prevHash: 'a'.repeat(64),
          hash: 'b'.repeat(64),
          recordedAt: '2026-11-23T10:00:02.000Z',
        },
      ],
    });

    expect(text.split('\n')).toEqual([
      'approval-A1: 2 events',
      'REV  POSITION  RECORDED                  TYPE             HASH          DETAILS',
      `0    41        2026-11-23T10:00:00.000Z  ApprovalGranted  ${'a'.repeat(12)}  riskLevel=safe approvedBy=alice commands=["docker compose ps"]`,
      `1    1042      2026-11-23T10:00:02.000Z  ExecutionLogged  ${'b'.repeat(12)}  executionId=x1 workerId=w1 exitCode=0 command="docker compose ps"`,
      '',
    ]);
  });
});

describe('badInput', () => {
  it('names each field with the flag that sets it, nested paths included', () => {
    const failure = badInput(
      'grant request',
      [
        { path: 'riskLevel', message: 'Invalid option' },
        { path: 'requestedBy.workerId', message: 'too long' },
      ],
      { riskLevel: '--risk', 'requestedBy.workerId': '--requested-by-worker' },
    );

    expect(failure).toMatchObject({ exitCode: 2, message: 'invalid grant request' });
    expect(failure.details).toEqual([
      'riskLevel (--risk): Invalid option',
      'requestedBy.workerId (--requested-by-worker): too long',
    ]);
  });
});
