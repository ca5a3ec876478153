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

export interface History {
  last: bigint;
  events: number;
  executions: number;
  totalDurationMs: number;
}

/** `approvals` approvals with `perApproval` executions each, appended one event at a time. */
export async function appendHistory(store: EventStore, approvals: number, perApproval: number): Promise<History> {
  const history: History = { last: 0n, events: 0, executions: 0, totalDurationMs: 0 };
  for (let a = 0; a < approvals; a++) {
    const approvalId = `H-${randomUUID()}`;
    history.last = await append(
      store,
      grant({ approvalId, requestedBy: { workerId: `w${a % 3}`, sessionId: `s${a}` } }),
    );
    history.events += 1;
    for (let e = 0; e < perApproval; e++) {
      const durationMs = 10 * (a + 1) + e;
      history.last = await append(
        store,
        execution({ approvalId, workerId: `w${a % 3}`, exitCode: e % 4 === 0 ? 1 : 0, durationMs }),
      );
      history.events += 1;
      history.executions += 1;
      history.totalDurationMs += durationMs;
    }
  }
  return history;
}

/** What must hold after any history was projected exactly once. */
export async function expectExactlyOnce(sql: pg.Client, history: History): Promise<void> {
  const { rows } = await sql.query<Record<string, number>>(
    `SELECT (SELECT count(*)::int FROM read_models.executions) AS rows,
            (SELECT count(DISTINCT execution_id)::int FROM read_models.executions) AS distinct_rows,
            (SELECT sum(executions)::int FROM read_models.daily_summaries) AS summed,
            (SELECT sum(total_duration_ms)::int FROM read_models.daily_summaries) AS duration,
            (SELECT sum(total_actions)::int FROM read_models.session_summaries) AS session_actions,
            (SELECT sum(execution_count)::int FROM read_models.approvals) AS approval_executions`,
  );
  expect(rows[0]).toEqual({
    rows: history.executions,
    distinct_rows: history.executions,
    summed: history.executions,
    duration: history.totalDurationMs,
    session_actions: history.executions,
    approval_executions: history.executions,
  });
}

export async function checkpoint(sql: pg.Client, name: string): Promise<bigint> {
  const { rows } = await sql.query<{ position: string }>(
    'SELECT position FROM read_models.projection_checkpoints WHERE name = $1',
    [name],
  );
  return BigInt(rows[0]?.position ?? '0');
}
