import type { StreamEvent, StreamReply } from './stream-reply.js';

const SHORT_HASH_CHARS = 12;

/** One line per event: revision, global position, time, type, short hash and the fields that tell events apart. */
export function formatStream(stream: StreamReply): string {
  const header = ['REV', 'POSITION', 'RECORDED', 'TYPE', 'HASH', 'DETAILS'];
  const rows = stream.events.map((event) => [
    String(event.streamRevision),
    event.globalPosition,
    event.recordedAt,
    event.type,
    event.hash.slice(0, SHORT_HASH_CHARS),
    keyFields(event),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  const count = `${stream.events.length} event${stream.events.length === 1 ? '' : 's'}`;
  return [`${stream.streamId}: ${count}`, line(header), ...rows.map(line), ''].join('\n');
}

function keyFields(event: StreamEvent): string {
  const { data } = event;
  const pick = (...names: string[]) =>
    names
      .filter((name) => data[name] !== undefined && data[name] !== null)
      .map((name) => `${name}=${show(data[name])}`);
  switch (event.type) {
    case 'ApprovalGranted':
      return [
        ...pick('riskLevel', 'approvedBy', 'approverVerified', 'decision', 'expiresAt', 'maxExecutions'),
        `commands=${show(data.approvedCommands)}`,
      ].join(' ');
    case 'ApprovalRejected':
    case 'ApprovalRevoked':
      return pick('by', 'reason').join(' ');
    case 'ExecutionLogged':
      return pick('executionId', 'workerId', 'exitCode', 'durationMs', 'command').join(' ');
    default:
      return Object.keys(data).join(',');
  }
}

function show(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value);
}
