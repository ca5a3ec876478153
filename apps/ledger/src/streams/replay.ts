import {
  grantOccurredAt,
  revocationOccurredAt,
  type ApprovalState,
  evolve,
  initialState,
  isReconciliationEventType,
  type ApprovalStreamEvent,
  type HashStatus,
  type ReplayedEvent,
  type ReplayedState,
  type ReplayReply,
  type ReplayTimeBasis,
} from '@audit-ledger/domain';
import type { RecordedEvent } from '@audit-ledger/event-store';
import { chainHash, GENESIS_HASH } from '@audit-ledger/integrity';
import { toWireEvent } from '@audit-ledger/event-store';

/**
 * A moment to replay up to: a time (events recorded at or before it, or with `by: 'occurred'`, events that happened
 * at or before it) or a global position (at or before it).
 */
export type AsOf = { kind: 'time'; at: Date; by?: ReplayTimeBasis } | { kind: 'position'; position: bigint };

const APPROVAL_EVENT_TYPES = new Set(['ApprovalGranted', 'ApprovalRejected', 'ApprovalRevoked', 'ExecutionLogged']);

/** Parses `asOf`: digits are a global position, anything else an ISO 8601 time. Null when it is neither. */
export function parseAsOf(value: string): AsOf | null {
  if (/^\d{1,19}$/.test(value)) return { kind: 'position', position: BigInt(value) };
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) return null;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? null : { kind: 'time', at };
}

/**
 * When an event happened: the command's `occurredAt`, an execution's `startedAt` (when it ran, as the lifecycle checks
 * use it), else when it was recorded (verdicts, and events recorded before commands carried their time).
 */
function occurrenceTimeOf(event: RecordedEvent): string {
  const data = event.data as Record<string, unknown>;
  if (typeof data.occurredAt === 'string') return data.occurredAt;
  if (event.type === 'ExecutionLogged' && typeof data.startedAt === 'string') return data.startedAt;
  return event.recordedAt.toISOString();
}

const includes = (asOf: AsOf | undefined, event: RecordedEvent) => {
  if (asOf === undefined) return true;
  if (asOf.kind === 'position') return event.globalPosition <= asOf.position;
  const at = asOf.by === 'occurred' ? Date.parse(occurrenceTimeOf(event)) : event.recordedAt.getTime();
  return at <= asOf.at.getTime();
};

/**
 * The stream as it stood at `asOf` (forensic replay, docs/integrity.md §9): each event with its hash status (its
 * link to the event before it and its own hash, recomputed), and the state the approval decider would have had.
 * By recording time (the default) that is a prefix of the stream. By occurrence time it is the events that had
 * happened by then, in stream order, whenever they were recorded: a command spooled during an outage counts from
 * when it happened. Hash statuses are always those of the whole chain (a later-recorded event left out does not
 * break the links of those shown).
 */
export function replayStream(streamId: string, history: readonly RecordedEvent[], asOf?: AsOf): ReplayReply {
  let expectedPrev = GENESIS_HASH;
  let state = initialState();
  const executions: string[] = [];
  const verdicts: ReplayedState['verdicts'] = [];
  const events: ReplayedEvent[] = [];
  let firstBroken: string | null = null;
  const byOccurrence = asOf?.kind === 'time' && asOf.by === 'occurred';
  for (const event of history) {
    if (!includes(asOf, event)) {
      if (!byOccurrence) break;
      expectedPrev = event.hash; // the chain goes on through events not shown
      continue;
    }
    const linkOk = event.prevHash === expectedPrev;
    let hashOk: boolean;
    try {
      hashOk = chainHash(event.prevHash, event) === event.hash;
    } catch {
      hashOk = false;
    }
    const hashStatus: HashStatus = !hashOk ? 'hash_mismatch' : !linkOk ? 'broken_link' : 'ok';
    if (hashStatus !== 'ok' && firstBroken === null) firstBroken = event.globalPosition.toString();
    events.push({ ...toWireEvent(event), occurredAt: occurrenceTimeOf(event), hashStatus, linkOk, hashOk });
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
    ...decisionTimes(state),
  };
  return {
    streamId,
    asOf:
      asOf === undefined
        ? null
        : asOf.kind === 'time'
          ? { time: asOf.at.toISOString(), ...(byOccurrence ? { by: 'occurred' as const } : {}) }
          : { position: asOf.position.toString() },
    eventCount: events.length,
    chainIntact: firstBroken === null,
    firstBrokenPosition: firstBroken,
    events,
    state: replayed,
  };
}

/** When the decisions happened, and how long the human took to grant. */
function decisionTimes(state: ApprovalState): Partial<ReplayedState> {
  const granted = state.granted;
  const grantedOccurredAt = granted ? grantOccurredAt(granted) : undefined;
  return {
    ...(grantedOccurredAt ? { grantedOccurredAt } : {}),
    ...(state.rejected ? { rejectedOccurredAt: state.rejected.occurredAt ?? state.rejected.rejectedAt } : {}),
    ...(state.revoked ? { revokedOccurredAt: revocationOccurredAt(state.revoked) } : {}),
    ...(granted?.requestedAt ? { requestedAt: granted.requestedAt } : {}),
    ...(granted?.requestedAt && grantedOccurredAt
      ? { approvalTimeMs: Math.max(0, Date.parse(grantedOccurredAt) - Date.parse(granted.requestedAt)) }
      : {}),
  };
}
