import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import {
  ApprovalGrantedData,
  ApprovalRejectedData,
  ApprovalRevokedData,
  approvalStreamId,
  ExecutionLoggedData,
  sessionStreamId,
} from '@audit-ledger/domain';
import { type EventStore, type NewEvent } from '@audit-ledger/event-store';
import { type ProjectionRunner } from '../src/index.js';

export const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

function event(type: string, data: Record<string, unknown>, schemaVersion = 1): NewEvent {
  const eventId = randomUUID();
  return {
    eventId,
    type,
    data,
    metadata: {
      correlationId: randomUUID(),
      causationId: eventId,
      recordedAt: new Date().toISOString(),
      actor: 'test',
      schemaVersion,
    },
  };
}

export const grant = (data: Partial<ApprovalGrantedData> & { approvalId: string }): NewEvent =>
  event(
    'ApprovalGranted',
    ApprovalGrantedData.parse({
      instruction: 'list the running containers',
      approvedCommands: ['docker compose ps'],
      riskLevel: 'safe',
      decision: 'approved',
      approvedBy: 'alice@example.com',
      requestedBy: { workerId: 'w1' },
      grantedAt: '2026-03-01T09:00:00.000Z',
      ...data,
    }),
  );

export const reject = (data: Partial<ApprovalRejectedData> & { approvalId: string }): NewEvent =>
  event(
    'ApprovalRejected',
    ApprovalRejectedData.parse({
      by: 'bob@example.com',
      reason: 'too broad',
      rejectedAt: '2026-03-01T09:00:00Z',
      ...data,
    }),
  );

export const revoke = (data: Partial<ApprovalRevokedData> & { approvalId: string }): NewEvent =>
  event(
    'ApprovalRevoked',
    ApprovalRevokedData.parse({
      by: 'carol@example.com',
      reason: 'incident',
      revokedAt: '2026-03-01T09:00:00Z',
      ...data,
    }),
  );

export const execution = (data: Partial<ExecutionLoggedData> & { executionId?: string }): NewEvent =>
  event(
    'ExecutionLogged',
    ExecutionLoggedData.parse({
      executionId: randomUUID(),
      workerId: 'w1',
      toolName: 'shell',
      command: 'docker compose ps',
      output: { text: 'ok\n', truncated: false, sha256: sha('ok\n'), bytes: 3 },
      exitCode: 0,
      artifacts: [],
      startedAt: '2026-03-01T10:00:00.000Z',
      finishedAt: '2026-03-01T10:00:00.100Z',
      durationMs: 100,
      ...data,
    }),
  );

export const custom = (type: string, data: Record<string, unknown>, schemaVersion = 1): NewEvent =>
  event(type, data, schemaVersion);

/** Appends an event to the stream its data names (`approval-<id>` or `session-<id>`), returns its position. */
export async function append(store: EventStore, newEvent: NewEvent, streamId?: string): Promise<bigint> {
  const data = newEvent.data as { approvalId?: string; sessionId?: string };
  const stream =
    streamId ?? (data.approvalId ? approvalStreamId(data.approvalId) : sessionStreamId(data.sessionId ?? 'none'));
  return (await store.appendToStream(stream, [newEvent])).lastPosition;
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Waits until every projection of the runner is active and its checkpoint has reached `position`. */
export async function caughtUp(runner: ProjectionRunner, position: bigint, names?: string[]): Promise<void> {
  await waitFor(`projections at position ${position}`, () =>
    runner
      .status()
      .projections.filter((p) => !names || names.includes(p.name))
      .every((p) => p.active && BigInt(p.position) >= position),
  );
}

export async function rawClient(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'read-models-test' });
  await client.connect();
  return client;
}
