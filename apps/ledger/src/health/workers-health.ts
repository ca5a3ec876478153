import type { ProjectionRunnerStatus } from '@audit-ledger/read-models';
import type { WitnessStatusProbe } from '@audit-ledger/evidence';
import type { ReconciliationStatusProbe } from '../reconciliation/reconciliation-status.http.controller.js';
import type { StoreMonitor } from './store-monitor.service.js';

/**
 * The workers' part of health, one answer for `/health` and `/health/workers`: the live subscription is alive, the
 * projections and the reconciler (when on) are healthy, and no witness refuses this database's checkpoints.
 */
export function workersHealth(
  monitor: StoreMonitor,
  projectionsStatus: ProjectionRunnerStatus | undefined,
  reconciliationProbe: ReconciliationStatusProbe,
  witnessesProbe: WitnessStatusProbe,
) {
  const subscription = monitor.status();
  const reconciliation = reconciliationProbe();
  // A witness that refuses this database's checkpoints is degraded service; one that is unreachable is retried.
  const witnesses = witnessesProbe();
  const ok =
    subscription.alive &&
    (projectionsStatus?.healthy ?? true) &&
    // A standby is healthy: another process reconciles, and this one takes over when that one stops.
    (!reconciliation.enabled || reconciliation.alive || reconciliation.leadership?.role === 'standby') &&
    witnesses.every((witness) => witness.status !== 'refused');
  return {
    ok,
    parts: { subscription, projections: projectionsStatus ?? { enabled: false }, reconciliation, witnesses },
  };
}
