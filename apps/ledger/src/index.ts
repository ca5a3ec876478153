export { startLedger, type HttpRoute, type LedgerWiring, type RunningLedger } from './bootstrap.js';
export * from './identity/index.js';
export {
  loadConfig,
  ENVIRONMENT_VARIABLES,
  type LedgerConfig,
  type LedgerConfigInput,
} from './config/ledger.config.js';
export { runUntilStopped, type StopSignal } from './run-until-stopped.js';
export { freePort } from './shared/free-port.js';
export * from '@audit-ledger/evidence';
export { startReconciliation, type RunningReconciliation } from './reconciliation/start-reconciliation.js';
export { rebuildReadModels, plannedRebuild, ledgerProjections } from './projections/rebuild-read-models.js';
export { UnknownProjectionError, RebuildFailedError, RebuildInProgressError } from '@audit-ledger/read-models';
export { retryParked } from './projections/retry-parked-events.js';
export * from './identity/index.js';
export { trimReadModels, type TrimReport } from '@audit-ledger/read-models';
export { ledgerRedactor } from './redaction/ledger-redactor.js';
export { toExecutionRecord } from './approvals/log-execution/execution-record.js';
export * from '@audit-ledger/archive';
