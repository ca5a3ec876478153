import { ReplayReply } from '@audit-ledger/domain';
import { InvalidArgumentError, type Command } from 'commander';
import type { CliIo } from '../shared/cli-io.js';
import { getLedgerJson } from './replay.http-client.js';

const STREAM_PREFIX = { approval: 'approval-', session: 'session-', stream: '' } as const;

const parseKind = (value: string): keyof typeof STREAM_PREFIX => {
  if (value in STREAM_PREFIX) return value as keyof typeof STREAM_PREFIX;
  throw new InvalidArgumentError('must be approval, session or stream');
};

const parseAsOf = (value: string): string => {
  if (/^\d{1,19}$/.test(value) || (/^\d{4}-\d{2}-\d{2}/.test(value) && !Number.isNaN(Date.parse(value)))) return value;
  throw new InvalidArgumentError('must be an ISO 8601 time or a global position');
};

const parseBy = (value: string): 'recorded' | 'occurred' => {
  if (value === 'recorded' || value === 'occurred') return value;
  throw new InvalidArgumentError('must be recorded or occurred');
};

/**
 * `ledger replay approval <id> [--as-of T|P] [--by recorded|occurred] [--json]`: the stream as it stood then, over
 * the HTTP API: as the ledger knew it at T (recording time, the default), or as things had happened by T.
 */
export function registerReplay(program: Command, io: CliIo): void {
  program
    .command('replay')
    .description('forensic replay: a stream as it stood at a time or position, hash statuses, the decider state')
    .argument('<kind>', 'approval, session, or stream (then <id> is a whole stream id)', parseKind)
    .argument('<id>', 'the approval id (or session id, or stream id)')
    .option('--as-of <time|position>', 'an ISO 8601 time or a global position (default: now)', parseAsOf)
    .option(
      '--by <basis>',
      'recorded: as the ledger knew it at --as-of (default); occurred: as things had happened by then',
      parseBy,
    )
    .option('--json', 'print the replay as the API returns it', false)
    .action(
      async (
        kind: keyof typeof STREAM_PREFIX,
        id: string,
        flags: { asOf?: string; by?: 'recorded' | 'occurred'; json: boolean },
        command: Command,
      ) => {
        const streamId = `${STREAM_PREFIX[kind]}${id}`;
        const params = new URLSearchParams({
          ...(flags.asOf ? { asOf: flags.asOf } : {}),
          ...(flags.by ? { by: flags.by } : {}),
        }).toString();
        const query = params ? `?${params}` : '';
        const reply = ReplayReply.parse(
          await getLedgerJson(
            command,
            `/v1/streams/${encodeURIComponent(streamId)}/events${query}`,
            `stream ${streamId}`,
            'security',
          ),
        );
        if (flags.json) {
          io.out(`${JSON.stringify(reply, null, 2)}\n`);
          return;
        }
        const asOf = reply.asOf;
        const when =
          asOf === null
            ? 'now'
            : 'time' in asOf
              ? `${asOf.time}${asOf.by === 'occurred' ? ' (as things happened)' : ''}`
              : `position ${asOf.position}`;
        io.out(`${reply.streamId} as of ${when}: ${reply.eventCount} events\n`);
        for (const event of reply.events) {
          io.out(
            `  #${event.streamRevision} @${event.globalPosition} ${event.recordedAt} ${event.type} ` +
              `${event.hash.slice(0, 12)}… ${event.hashStatus === 'ok' ? 'hash ok' : `HASH ${event.hashStatus.toUpperCase()}`}\n`,
          );
        }
        const s = reply.state;
        io.out(
          `state: ${s.status}${s.active ? ' (active)' : ''}` +
            (s.revokedAt ? `, revoked at ${s.revokedOccurredAt ?? s.revokedAt}` : '') +
            (s.revokedAt && s.revokedOccurredAt && s.revokedOccurredAt !== s.revokedAt
              ? ` (recorded ${s.revokedAt})`
              : '') +
            (s.rejectedAt ? `, rejected at ${s.rejectedAt}` : '') +
            `; executions: ${s.executions.length}${s.executions.length ? ` (${s.executions.join(', ')})` : ''}` +
            `; verdicts: ${s.verdicts.length ? s.verdicts.map((v) => `${v.type}${v.kind ? `:${v.kind}` : ''}`).join(', ') : 'none'}\n`,
        );
        io.out(
          reply.chainIntact
            ? 'hash chain: intact\n'
            : `hash chain: BROKEN at position ${reply.firstBrokenPosition} (run ledger verify)\n`,
        );
      },
    );
}
