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
export { startReconciliation, type RunningReconciliation } from './reconciliation/start-reconciliation.js';
export { ledgerRedactor } from './redaction/ledger-redactor.js';
export { toExecutionRecord } from './approvals/log-execution/execution-record.js';
