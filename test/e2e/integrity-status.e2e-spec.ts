import { PostgresEventStore } from '@audit-ledger/event-store';
import { CheckpointSealer, resolveIntegrityKeys, type IntegrityKeys } from '@audit-ledger/evidence';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { anApproval, anExecution } from '../support/fixtures.js';
import { startLedgerUnderTest, type LedgerUnderTest } from '../support/ledger-app.js';

interface IntegrityBody {
  lastCheckpoint: { checkpointHash: string; fromPosition: string; toPosition: string } | null;
  verification: {
    status: string;
    checkpointHash: string;
    fromPosition: string;
    toPosition: string;
    verifiedAt: string;
    eventsChecked: number;
    firstProblem: { kind: string; position: string | null; message: string } | null;
  } | null;
}

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * Issue 6: `GET /v1/integrity` re-verifies the last checkpoint (signature, chain, its range's event hashes, links and
 * Merkle root), keeps the result until a newer checkpoint is sealed, and reports a failure with its position.
 * The ledger's own sealer is off: the test seals with the ledger's key, so the last checkpoint is the one it chose.
 */
describe('GET /v1/integrity re-verifies the last checkpoint', () => {
  let t: LedgerUnderTest;
  let dir: string;
  let keys: IntegrityKeys;

  const integrity = async (): Promise<IntegrityBody> => {
    const { status, body } = await t.http('GET', '/v1/integrity');
    expect(status).toBe(200);
    return body as IntegrityBody;
  };

  async function seal() {
    const store = await PostgresEventStore.connect({ connectionString: t.database.url, poolSize: 2, logger: silent });
    try {
      const sealer = new CheckpointSealer({ store, keys, everyEvents: 1000, everyMs: 60_000, logger: silent });
      return (await sealer.sealNow())!;
    } finally {
      await store.close();
    }
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-integrity-status-'));
    keys = resolveIntegrityKeys({ dataDir: dir }); // the key the ledger finds in its data dir
    t = await startLedgerUnderTest({ dataDir: dir, checkpointsEnabled: false });
  });

  afterAll(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports no checkpoint before the first one is sealed', async () => {
    expect(await integrity()).toMatchObject({ lastCheckpoint: null, verification: null });
  });

  it('given a sealed, untouched range, then it reports it verified, and keeps that result for the same checkpoint', async () => {
    const approval = anApproval();
    expect((await t.http('POST', '/v1/approvals', approval)).status).toBe(201);
    expect((await t.http('POST', '/v1/executions', anExecution({ approvalId: approval.approvalId }))).status).toBe(201);
    const sealed = await seal();

    const first = await integrity();

    expect(first.lastCheckpoint).toMatchObject({ checkpointHash: sealed.checkpointHash });
    expect(first.verification).toMatchObject({
      status: 'verified',
      checkpointHash: sealed.checkpointHash,
      fromPosition: sealed.fromPosition,
      toPosition: sealed.toPosition,
      firstProblem: null,
    });
    expect(first.verification!.eventsChecked).toBeGreaterThanOrEqual(2);
    expect(Date.parse(first.verification!.verifiedAt)).not.toBeNaN();
    const again = await integrity();
    expect(again.verification!.verifiedAt).toBe(first.verification!.verifiedAt);
  });

  it('given an event edited inside the newest checkpoint range by a superuser, then it reports the failure and the position', async () => {
    const approval = anApproval();
    expect((await t.http('POST', '/v1/approvals', approval)).status).toBe(201);
    expect((await t.http('POST', '/v1/executions', anExecution({ approvalId: approval.approvalId }))).status).toBe(201);
    const sealed = await seal();
    const [execution] = await t.sql<{ p: string }>(
      "SELECT global_position::text AS p FROM ledger.events WHERE stream_id = $1 AND type = 'ExecutionLogged'",
      [`approval-${approval.approvalId}`],
    );
    expect(BigInt(execution!.p)).toBeGreaterThanOrEqual(BigInt(sealed.fromPosition));
    expect(BigInt(execution!.p)).toBeLessThanOrEqual(BigInt(sealed.toPosition));
    await t.sql('ALTER TABLE ledger.events DISABLE TRIGGER events_append_only');
    await t.sql(
      `UPDATE ledger.events SET data = jsonb_set(data::jsonb, '{command}', '"rm -rf /"') WHERE global_position = $1`,
      [execution!.p],
    );
    await t.sql('ALTER TABLE ledger.events ENABLE TRIGGER events_append_only');

    const body = await integrity();

    expect(body.verification).toMatchObject({
      status: 'failed',
      checkpointHash: sealed.checkpointHash,
      firstProblem: { kind: 'edited', position: execution!.p },
    });
    expect(body.verification!.firstProblem!.message).toContain(`position ${execution!.p}`);
  });
});
