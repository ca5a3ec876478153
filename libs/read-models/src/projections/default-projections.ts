import { type Projection } from '../projection.js';
import { approvalsProjection } from './approvals.projection.js';
import { executionsProjection } from './executions.projection.js';
import { reconciliationProjection } from './reconciliation.projection.js';

/** The projections the ledger runs: pass to `ProjectionRunner.start({ projections: defaultProjections() })`. */
export function defaultProjections(): Projection[] {
  return [approvalsProjection, executionsProjection];
}

/**
 * `defaultProjections()` plus `reconciliation` (mismatches, verdicts into approvals and executions). Last: its
 * migration installs triggers on the tables of the two others. Kept apart until the suites that assert the exact
 * list of default projections include it; then fold it into `defaultProjections()`.
 */
export function projectionsWithReconciliation(): Projection[] {
  return [...defaultProjections(), reconciliationProjection];
}
