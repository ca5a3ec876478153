import { MESSAGE_PATTERNS, type CommandAck } from '@audit-ledger/domain';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';
import { within } from '../support/within.js';

/** Outside in: a command over the transport, its event in the store, its row in the read model. */
describe('read models in the running ledger', () => {
  let t: LedgerUnderTest;
  beforeAll(async () => {
    t = await startLedgerUnderTest();
  });
  afterAll(() => t.stop());

  it('given a granted approval, when an execution is logged over TCP, then the approvals and executions rows appear', async () => {
    const approval = anApproval();
    await t.send(MESSAGE_PATTERNS.grantApproval, approval);
    const execution = anExecution({ approvalId: approval.approvalId });
    const ack = await t.send<CommandAck>(MESSAGE_PATTERNS.logExecution, execution);

    const row = await within(10_000, 'the read model to catch up', async () => {
      const rows = await t.sql<{ command: string; global_position: string; exit_code: number }>(
        'SELECT command, global_position, exit_code FROM read_models.executions WHERE execution_id = $1',
        [execution.executionId],
      );
      return rows[0];
    });
    expect(row).toEqual({ command: 'docker compose ps', global_position: ack.globalPosition, exit_code: 0 });
    const approvals = await within(10_000, 'the read model to catch up', async () => {
      const rows = await t.sql<{ status: string; execution_count: number }>(
        'SELECT status, execution_count FROM read_models.approvals WHERE approval_id = $1 AND execution_count > 0',
        [approval.approvalId],
      );
      return rows[0];
    });
    expect(approvals.execution_count).toBe(1);
  });

  it('reports the projections in /health', async () => {
    const health = await t.http('GET', '/health');
    expect(health).toMatchObject({ status: 200, body: { projections: { healthy: true } } });
  });
});

describe('reconciliation verdicts in the read models of the running ledger', () => {
  let t: LedgerUnderTest;
  beforeAll(async () => {
    t = await startLedgerUnderTest({ reconciliationEnabled: true });
  });
  afterAll(() => t.stop());

  it('given an approval for `docker compose ps`, when `docker compose down` is logged, then the mismatch, the verdict and the approval status are in the read models', async () => {
    const approval = anApproval({ approvedCommands: ['docker compose ps'] });
    await t.send(MESSAGE_PATTERNS.grantApproval, approval);
    const execution = anExecution({ approvalId: approval.approvalId, command: 'docker compose down' });
    await t.send(MESSAGE_PATTERNS.logExecution, execution);

    const mismatch = await within(10_000, 'the read model to catch up', async () => {
      const rows = await t.sql<{ kind: string; review_state: string }>(
        'SELECT kind, review_state FROM read_models.mismatches WHERE execution_id = $1',
        [execution.executionId],
      );
      return rows[0];
    });
    expect(mismatch).toEqual({ kind: 'command_not_approved', review_state: 'open' });
    const verdict = await within(10_000, 'the read model to catch up', async () => {
      const rows = await t.sql<{ reconciliation_verdict: string | null }>(
        'SELECT reconciliation_verdict FROM read_models.executions WHERE execution_id = $1',
        [execution.executionId],
      );
      return rows[0]?.reconciliation_verdict ?? undefined;
    });
    expect(verdict).toBe('mismatch');
    const status = await within(10_000, 'the read model to catch up', async () => {
      const rows = await t.sql<{ status: string; mismatch_count: number }>(
        "SELECT status, mismatch_count FROM read_models.approvals WHERE approval_id = $1 AND status = 'mismatch'",
        [approval.approvalId],
      );
      return rows[0];
    });
    expect(status.mismatch_count).toBe(1);
  });
});
