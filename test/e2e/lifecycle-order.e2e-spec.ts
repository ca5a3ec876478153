import { PostgresEventStore } from '@audit-ledger/event-store';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Alerting } from '../../apps/ledger/src/alerts/alerting.js';
import { StoreMonitor } from '../../apps/ledger/src/health/store-monitor.service.js';
import { LedgerIdentity } from '../../apps/ledger/src/identity/ledger-identity.js';
import { CheckpointSealerWorker, WitnessesWorker } from '../../apps/ledger/src/integrity/integrity.workers.js';
import { ProjectionsWorker, RetentionWorker } from '../../apps/ledger/src/projections/projections.worker.js';
import { ReconciliationWorker } from '../../apps/ledger/src/reconciliation/reconciliation.worker.js';
import { startTestLedger } from '../support/ledger-app.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

/**
 * The feature modules' workers start with the app, before any transport listens, and stop with `app.close()` after
 * the transports and before the store (docs/architecture.md, "Modules"). Every worker switched on: projections,
 * reconciliation, checkpoints with a witness file.
 */
describe('the ledger starts and stops its workers through the Nest lifecycle, in order', () => {
  let database: TestDatabase;
  let dir: string;
  const steps: string[] = [];
  const restores: (() => void)[] = [];
  let httpPort = 0;

  /** Records `label` when `method` of `type` runs, with whether the HTTP transport answers at that moment. */
  function record(type: { prototype: object }, method: string, label: string): void {
    const prototype = type.prototype as Record<string, (...args: unknown[]) => unknown>;
    const original = prototype[method]!;
    prototype[method] = async function (this: unknown, ...args: unknown[]) {
      steps.push(`${label}${httpPort && (await httpAnswers()) ? ' (HTTP open)' : ''}`);
      return original.apply(this, args);
    };
    restores.push(() => (prototype[method] = original));
  }
  const httpAnswers = () =>
    fetch(`http://127.0.0.1:${httpPort}/health/live`, { signal: AbortSignal.timeout(2000) }).then(
      () => true,
      () => false,
    );

  beforeAll(async () => {
    database = await createTestDatabase();
    dir = mkdtempSync(join(tmpdir(), 'ledger-lifecycle-'));
  });
  afterAll(async () => {
    for (const restore of restores) restore();
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts the witnesses, then the workers, then the transports; stops transports, workers, alerts, store', async () => {
    record(WitnessesWorker, 'onModuleInit', 'start witnesses');
    record(LedgerIdentity, 'onApplicationBootstrap', 'start identity');
    record(ReconciliationWorker, 'onApplicationBootstrap', 'start reconciliation');
    record(ProjectionsWorker, 'onApplicationBootstrap', 'start projections');
    record(RetentionWorker, 'onApplicationBootstrap', 'start retention');
    record(CheckpointSealerWorker, 'onApplicationBootstrap', 'start sealer');
    record(StoreMonitor, 'start', 'start monitor');
    record(StoreMonitor, 'stop', 'stop monitor');
    record(CheckpointSealerWorker, 'onApplicationShutdown', 'stop sealer');
    record(WitnessesWorker, 'onApplicationShutdown', 'stop witnesses');
    record(RetentionWorker, 'onApplicationShutdown', 'stop retention');
    record(ProjectionsWorker, 'onApplicationShutdown', 'stop projections');
    record(ReconciliationWorker, 'onApplicationShutdown', 'stop reconciliation');
    record(LedgerIdentity, 'onApplicationShutdown', 'stop identity');
    record(Alerting, 'onApplicationShutdown', 'stop alerts');
    record(PostgresEventStore, 'close', 'close store');

    const ledger = await startTestLedger(database.url, {
      reconciliationEnabled: true,
      projectionsEnabled: true,
      checkpointsEnabled: true,
      witnessFile: join(dir, 'witness.jsonl'),
      dataDir: join(dir, 'data'),
    });
    const started = steps.splice(0);
    httpPort = ledger.httpPort;
    expect(await httpAnswers()).toBe(true);
    await ledger.close();

    expect(started).toEqual([
      'start witnesses',
      'start identity',
      'start reconciliation',
      'start projections',
      'start retention',
      'start sealer',
      'start monitor',
    ]);
    // No step found HTTP answering: the transports closed first.
    expect(steps).toEqual([
      'stop monitor',
      'stop sealer',
      'stop witnesses',
      'stop retention',
      'stop projections',
      'stop reconciliation',
      'stop identity',
      'stop alerts',
      'close store',
    ]);
  });
});
