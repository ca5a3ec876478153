import { LedgerError } from '@audit-ledger/domain';
import type { RerunReport } from './rerun-reconciliation.js';

type RerunJobState = 'running' | 'finished' | 'cancelled' | 'failed';

/** What `GET /v1/reconciliation/reruns/{id}` shows; the report fields of the synchronous re-run are kept. */
export interface RerunJobView extends RerunReport {
  id: string;
  state: RerunJobState;
  /** As asked: an ISO instant or a global position. */
  since: string;
  requestedBy: string;
  /** Executions the job will examine, counted when it started (`null` while counting). */
  total: number | null;
  verdictsChanged: number;
  /** The rate limit it runs under (LEDGER_RECONCILIATION_RERUN_EVENTS_PER_SECOND). */
  eventsPerSecond: number;
  cancelRequested: boolean;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
}

export const RERUN_JOB_PATH = '/v1/reconciliation/reruns';

export class RerunAlreadyRunningError extends LedgerError {
  readonly code = 'RECONCILIATION.RERUN_RUNNING';
  constructor(readonly running: RerunJobView) {
    super(`Re-reconciliation job ${running.id} is running (since ${running.since}); cancel it or wait for it to end`);
  }
}

export class RerunJobNotFoundError extends LedgerError {
  readonly code = 'RECONCILIATION.RERUN_NOT_FOUND';
  constructor(readonly id: string) {
    super(`No re-reconciliation job ${id} (jobs are kept in memory until the ledger restarts)`);
  }
}
