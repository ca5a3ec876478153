import type { EventStore } from '@audit-ledger/event-store';
import { Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { IdentityModule } from '../identity/identity.module.js';
import { IntegrityModule } from '../integrity/integrity.module.js';
import { PartitionsModule } from '../partitions/partitions.module.js';
import { LedgerMetrics } from '../metrics/ledger-metrics.js';
import { ProjectionsModule } from '../projections/projections.module.js';
import { ReconciliationModule } from '../reconciliation/reconciliation.module.js';
import { EVENT_STORE, LOGGER } from '../shared/tokens.js';
import { HealthController } from './health.controller.js';
import { ProbesHttpController } from './probes.http.controller.js';
import { StoreMonitor } from './store-monitor.service.js';

/** `/health`, the probes (live, ready, workers) and the store monitor: reads the other features' status. */
@Module({
  imports: [IdentityModule, IntegrityModule, PartitionsModule, ProjectionsModule, ReconciliationModule],
  controllers: [HealthController, ProbesHttpController],
  providers: [
    {
      provide: StoreMonitor,
      // The monitor sees every event the metrics count (verdicts, seals).
      useFactory: (store: EventStore, logger: Logger, metrics: LedgerMetrics) =>
        new StoreMonitor(store, logger, (event) => metrics.observe(event)),
      inject: [EVENT_STORE, LOGGER, LedgerMetrics],
    },
  ],
  exports: [StoreMonitor],
})
export class HealthModule {}
