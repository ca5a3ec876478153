import { type Projection } from '../projection.js';
import { approvalsProjection } from './approvals.projection.js';
import { executionsProjection } from './executions.projection.js';

/** The projections the ledger runs: pass to `ProjectionRunner.start({ projections: defaultProjections() })`. */
export function defaultProjections(): Projection[] {
  return [approvalsProjection, executionsProjection];
}
