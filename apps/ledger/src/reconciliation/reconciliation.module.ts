import { Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { AlertsModule } from '../alerts/alerts.module.js';
import type { LedgerConfig } from '../config/ledger.config.js';
import { LEDGER_CONFIG, LOGGER } from '../shared/tokens.js';
import { RECONCILIATION_JUDGE } from './ask-judge.js';
import { RECONCILIATION_STATUS, ReconciliationStatusHttpController } from './reconciliation-status.http.controller.js';
import { ReconciliationWorker } from './reconciliation.worker.js';
import { RerunJobs } from './rerun-reconciliation/rerun-jobs.js';
import { RerunReconciliationHttpController } from './rerun-reconciliation/rerun-reconciliation.http.controller.js';
import { ReviewMismatchHandler } from './review-mismatch/review-mismatch.handler.js';
import { ReviewMismatchHttpController } from './review-mismatch/review-mismatch.http.controller.js';
import { askJudgeFromConfig } from './start-reconciliation.js';

/** The reconciliation processor, its status, reruns (`reconcile --since`) and the review of mismatches. */
@Module({
  imports: [AlertsModule],
  controllers: [ReviewMismatchHttpController, ReconciliationStatusHttpController, RerunReconciliationHttpController],
  providers: [
    {
      provide: RECONCILIATION_JUDGE,
      useFactory: (config: LedgerConfig, logger: Logger) => askJudgeFromConfig(config, logger) ?? null,
      inject: [LEDGER_CONFIG, LOGGER],
    },
    ReconciliationWorker,
    {
      provide: RECONCILIATION_STATUS,
      useFactory: (worker: ReconciliationWorker) => () => worker.status(),
      inject: [ReconciliationWorker],
    },
    ReviewMismatchHandler,
    RerunJobs,
  ],
  exports: [RECONCILIATION_STATUS],
})
export class ReconciliationModule {}
