import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { approvalStreamId } from '@audit-ledger/domain';
import { type NewEvent, type RecordedEvent } from '@audit-ledger/event-store';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import {
  approvalsProjection,
  executionsProjection,
  projectionsWithReconciliation,
  reconciliationProjection,
  runReadModelMigrations,
  type Projection,
} from '../src/index.js';
import { custom, execution, grant, waitFor } from './read-model-test-support.js';
import { lockBatches } from '../src/batch-locks.js';

const LOCK_NOT_AVAILABLE = '55P03';

const matched = (executionId: string): NewEvent =>
  custom('ExecutionReconciled', { executionId, verdict: 'MATCH', explanation: 'equal', reconcilerVersion: 'r1' });

/**
 * Each projection applies its batches in a transaction of its own, concurrently with the others. The reconciliation
 * projection's per-approval-stream lock orders a verdict against the execution and approval rows it derives columns
 * into; it must not order the approvals and executions projections against each other (both only read what
 * reconciliation writes): with one exclusive lock they waited for each other on every shared stream and deadlocked
 * under load. And a batch takes its streams' locks up front in one order (`lockBatches`), so two batches touching the
 * same streams in different orders wait for each other instead of deadlocking. A 55P03 (lock_timeout) shows that a
 * transaction waited.
 */
describe('reconciliation locks between concurrently applied projections', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let position = 0n;
  const approvalId = `A-${randomUUID()}`;
  const streamId = approvalStreamId(approvalId);
  const executionId = randomUUID();
  /** Connections still checked out: a failed expectation leaves a transaction open, closed in afterAll. */
  const open = new Set<pg.PoolClient>();

  const recorded = (event: NewEvent, stream = streamId): RecordedEvent => {
    position += 1n;
    return {
      ...event,
      streamId: stream,
      streamRevision: Number(position) - 1,
      globalPosition: position,
      prevHash: '0'.repeat(64),
      hash: '1'.repeat(64),
      recordedAt: new Date('2026-03-01T10:00:00.000Z'),
    };
  };

  /** Opens a transaction on a connection of its own (lock_timeout `timeout`) and applies `event` in it. */
  async function applyInOpenTransaction(projection: Projection, event: RecordedEvent, timeout = '5s') {
    const client = await pool.connect();
    open.add(client);
    await client.query(`SET lock_timeout = '${timeout}'`);
    await client.query('BEGIN');
    const applied = projection.apply(client, event).then(
      () => undefined,
      async (error: unknown) => {
        await client.query('ROLLBACK');
        throw error;
      },
    );
    return {
      applied,
      async commit() {
        await client.query('COMMIT');
        open.delete(client);
        client.release();
      },
      release() {
        open.delete(client);
        client.release();
      },
    };
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    const client = await pool.connect();
    try {
      await runReadModelMigrations(client, projectionsWithReconciliation());
    } finally {
      client.release();
    }
    const granted = recorded(grant({ approvalId }));
    for (const projection of [approvalsProjection, executionsProjection]) {
      const tx = await applyInOpenTransaction(projection, granted);
      await tx.applied;
      await tx.commit();
    }
  });

  afterAll(async () => {
    for (const client of open) client.release(true);
    await pool?.end();
    await db?.drop();
  });

  it('lets the approvals projection apply an execution while the executions projection is applying it, but makes the verdict wait', async () => {
    const logged = recorded(execution({ executionId, approvalId }));
    // Given the executions projection in the middle of a batch that inserted the execution's row
    const executions = await applyInOpenTransaction(executionsProjection, logged);
    await executions.applied;

    // When the approvals projection applies the same event to the same approval stream, it does not wait
    const approvals = await applyInOpenTransaction(approvalsProjection, logged, '2s');
    await expect(approvals.applied).resolves.toBeUndefined();
    await approvals.commit();

    // But the reconciliation projection's verdict for that execution waits for the executions batch to commit
    const reconciled = recorded(matched(executionId));
    const early = await applyInOpenTransaction(reconciliationProjection, reconciled, '300ms');
    await expect(early.applied).rejects.toMatchObject({ code: LOCK_NOT_AVAILABLE });
    early.release();

    // Then, once the executions batch commits, the verdict lands on its row
    await executions.commit();
    const verdict = await applyInOpenTransaction(reconciliationProjection, reconciled, '2s');
    await verdict.applied;
    await verdict.commit();
    const { rows } = await pool.query<{ reconciliation_verdict: string | null; execution_count: number }>(
      `SELECT e.reconciliation_verdict, a.execution_count
         FROM read_models.executions e JOIN read_models.approvals a USING (approval_id)
        WHERE e.execution_id = $1`,
      [executionId],
    );
    expect(rows).toEqual([{ reconciliation_verdict: 'matched', execution_count: 1 }]);
  });

  it('lets the executions and reconciliation projections apply batches touching two streams in opposite orders without a deadlock', async () => {
    const ids = [`B1-${randomUUID()}`, `B2-${randomUUID()}`];
    const streams = ids.map((id) => approvalStreamId(id));
    const executionIds = [randomUUID(), randomUUID()];
    for (const [i, id] of ids.entries()) {
      for (const projection of [approvalsProjection, executionsProjection]) {
        const tx = await applyInOpenTransaction(projection, recorded(grant({ approvalId: id }), streams[i]));
        await tx.applied;
        await tx.commit();
      }
    }
    const logged = ids.map((id, i) =>
      recorded(execution({ executionId: executionIds[i], approvalId: id }), streams[i]),
    );
    const verdicts = executionIds.map((id, i) => recorded(matched(id), streams[i]));
    const begin = async () => {
      const client = await pool.connect();
      open.add(client);
      await client.query("SET lock_timeout = '10s'");
      await client.query('BEGIN');
      return client;
    };

    // Given the executions projection's batch [second stream's execution, first stream's execution], run as the
    // runner runs a batch (its locks up front, then apply in order), having applied its first event
    const executions = await begin();
    await lockBatches(executions, [{ projection: executionsProjection, events: [logged[1]!, logged[0]!] }]);
    await executionsProjection.apply(executions, logged[1]!);
    // And the reconciliation projection's batch [first stream's verdict, second stream's verdict] under way, waiting
    const reconciliation = await begin();
    const { rows: backend } = await reconciliation.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const reconciling = (async () => {
      await lockBatches(reconciliation, [{ projection: reconciliationProjection, events: verdicts }]);
      for (const verdict of verdicts) await reconciliationProjection.apply(reconciliation, verdict);
      await reconciliation.query('COMMIT');
    })();
    reconciling.catch(() => undefined); // awaited below
    await waitFor('the reconciliation batch to wait for a lock', async () => {
      const { rowCount } = await pool.query(
        "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'",
        [backend[0]!.pid],
      );
      return rowCount === 1;
    });

    // When the executions batch applies its second event and commits
    await executionsProjection.apply(executions, logged[0]!);
    await executions.query('COMMIT');

    // Then neither batch was aborted, and both verdicts are on their executions
    await expect(reconciling).resolves.toBeUndefined();
    for (const client of [executions, reconciliation]) {
      open.delete(client);
      client.release();
    }
    const { rows } = await pool.query<{ execution_id: string; reconciliation_verdict: string | null }>(
      'SELECT execution_id, reconciliation_verdict FROM read_models.executions WHERE execution_id = ANY($1) ORDER BY execution_id',
      [executionIds],
    );
    expect(rows).toEqual(
      [...executionIds].sort().map((id) => ({ execution_id: id, reconciliation_verdict: 'matched' })),
    );
  });

  it('takes the locks of every projection of a batch in one statement, a stream asked for in both modes exclusive', async () => {
    // given an approval stream whose execution the executions projection and whose verdict the reconciliation
    // projection apply in one batch, and a second stream with only an execution
    const other = approvalStreamId(`A-${randomUUID()}`);
    const logged = recorded(execution({ executionId: randomUUID(), approvalId }), streamId);
    const lone = recorded(execution({ executionId: randomUUID() }), other);
    const verdict = recorded(matched(executionId), streamId);
    const client = await pool.connect();
    open.add(client);
    try {
      await client.query('BEGIN');
      // when the runner takes the batch's locks
      await lockBatches(client, [
        { projection: executionsProjection, events: [logged, lone] },
        { projection: reconciliationProjection, events: [verdict] },
      ]);
      // then each stream is locked once: the shared-and-exclusive one exclusive, the other shared
      const { rows } = await client.query<{ mode: string }>(
        `SELECT mode FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() ORDER BY mode`,
      );
      expect(rows.map((row) => row.mode)).toEqual(['ExclusiveLock', 'ShareLock']);
    } finally {
      await client.query('ROLLBACK');
      open.delete(client);
      client.release();
    }
  });
});
