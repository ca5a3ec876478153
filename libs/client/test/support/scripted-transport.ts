import type { CommandAck } from '@audit-ledger/domain';
import { createHash } from 'node:crypto';
import type { LedgerTransport, SendOutcome } from '../../src/index.js';

export interface SentCommand {
  pattern: string;
  payload: unknown;
}

/** How the stand-in answers; `ledger.acknowledge` answers like the idempotent ledger. */
type Behaviour = (command: SentCommand, ledger: ScriptedTransport) => SendOutcome;

const ackFor = (command: SentCommand, duplicate = false): SendOutcome => {
  const key = JSON.stringify(command.payload);
  const ack: CommandAck = {
    eventId: createHash('sha256').update(`event:${key}`).digest('hex').slice(0, 32),
    streamId: 'approval-A1',
    streamRevision: 0,
    globalPosition: '1',
    hash: createHash('sha256').update(key).digest('hex'),
    duplicate,
  };
  return { kind: 'acknowledged', ack };
};

export const unavailable: Behaviour = () => ({ kind: 'unavailable', reason: 'ECONNREFUSED: connect refused' });

/**
 * A stand-in for the ledger in the spool's unit tests only (the acceptance tests use the real ledger): acknowledges
 * like an idempotent ledger (a resent payload comes back `duplicate`), or behaves as scripted.
 */
export class ScriptedTransport implements LedgerTransport {
  readonly sent: SentCommand[] = [];
  private readonly seen = new Set<string>();
  closed = false;

  constructor(public behaviour: Behaviour = (command, ledger) => ledger.acknowledge(command)) {}

  acknowledge(command: SentCommand): SendOutcome {
    const key = JSON.stringify(command.payload);
    const duplicate = this.seen.has(key);
    this.seen.add(key);
    return ackFor(command, duplicate);
  }

  send(pattern: string, payload: unknown): Promise<SendOutcome> {
    const command = { pattern, payload };
    this.sent.push(command);
    return Promise.resolve(this.behaviour(command, this));
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
