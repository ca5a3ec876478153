import {
  evolve,
  initialState,
  isReconciliationEventType,
  type ApprovalStreamEvent,
  type HashStatus,
  type ReplayedEvent,
  type ReplayedState,
  type ReplayReply,
} from '@audit-ledger/domain';
import type { RecordedEvent } from '@audit-ledger/event-store';
import { chainHash, GENESIS_HASH } from '@audit-ledger/integrity';
import { toWireEvent } from './wire-event.js';

/** A moment to replay up to: a time (events recorded at or before it) or a global position (at or before it). */
export type AsOf = { kind: 'time'; at: Date } | { kind: 'position'; position: bigint };

const APPROVAL_EVENT_TYPES = new Set(['ApprovalGranted', 'ApprovalRejected', 'ApprovalRevoked', 'ExecutionLogged']);

/** Parses `asOf`: digits are a global position, anything else an ISO 8601 time. Null when it is neither. */
export function parseAsOf(value: string): AsOf | null {
  if (/^\d{1,19}$/.test(value)) return { kind: 'position', position: BigInt(value) };
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) return null;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? null : { kind: 'time', at };
}

const includes = (asOf: AsOf | undefined, event: RecordedEvent) =>
  asOf === undefined ||
  (asOf.kind === 'time' ? event.recordedAt.getTime() <= asOf.at.getTime() : event.globalPosition <= asOf.position);

/**
 * The stream as it stood at `asOf` (forensic replay, docs/integrity.md §9): each event with its hash status (its
 * link to the event before it and its own hash, recomputed), and the state the approval decider would have had.
 */
export function replayStream(streamId: string, history: readonly RecordedEvent[], asOf?: AsOf): ReplayReply {
  let expectedPrev = GENESIS_HASH;
  let state = initialState();
  const executions: string[] = [];
  const verdicts: ReplayedState['verdicts'] = [];
  const events: ReplayedEvent[] = [];
  let firstBroken: string | null = null;
  for (const event of history) {
    if (!includes(asOf, event)) break;
    const linkOk = event.prevHash === expectedPrev;
    let hashOk: boolean;
    try {
      hashOk = chainHash(event.prevHash, event) === event.hash;
    } catch {
      hashOk = false;
    }
    const hashStatus: HashStatus = !hashOk ? 'hash_mismatch' : !linkOk ? 'broken_link' : 'ok';
    if (hashStatus !== 'ok' && firstBroken === null) firstBroken = event.globalPosition.toString();
    events.push({ ...toWireEvent(event), hashStatus, linkOk, hashOk });
    expectedPrev = event.hash;
    if (APPROVAL_EVENT_TYPES.has(event.type)) {
      const approvalEvent = { type: event.type, data: event.data } as unknown as ApprovalStreamEvent;
      state = evolve(state, approvalEvent);
      if (approvalEvent.type === 'ExecutionLogged') executions.push(approvalEvent.data.executionId);
    } else if (isReconciliationEventType(event.type)) {
      const data = event.data as Record<string, unknown>;
      const pick = (name: string) => (typeof data[name] === 'string' ? { [name]: data[name] as string } : {});
      verdicts.push({
        type: event.type,
        ...pick('executionId'),
        ...pick('verdict'),
        ...pick('kind'),
        ...pick('severity'),
      });
    }
  }
  const replayed: ReplayedState = {
    status: state.status,
    active: state.status === 'granted',
    executions,
    verdicts,
    ...(state.granted ? { grantedAt: state.granted.grantedAt } : {}),
    ...(state.granted?.expiresAt ? { expiresAt: state.granted.expiresAt } : {}),
    ...(state.rejected ? { rejectedAt: state.rejected.rejectedAt } : {}),
    ...(state.revoked ? { revokedAt: state.revoked.revokedAt } : {}),
  };
  return {
    streamId,
    asOf:
      asOf === undefined
        ? null
        : asOf.kind === 'time'
          ? { time: asOf.at.toISOString() }
          : { position: asOf.position.toString() },
    eventCount: events.length,
    chainIntact: firstBroken === null,
    firstBrokenPosition: firstBroken,
    events,
    state: replayed,
  };
}
