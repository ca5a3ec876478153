import type { PostgresEventStore } from '@audit-ledger/event-store';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { AlertDispatcher } from '@audit-ledger/alerts';
import { StoreMonitor } from '../health/store-monitor.service.js';
import { AccessRefusals } from '../identity/access-refusals.js';
import { ProjectionsWorker } from '../projections/projections.worker.js';
import { EVENT_STORE } from '../shared/tokens.js';
import { LedgerMetrics } from './ledger-metrics.js';

/** Hands the metrics what they read on each scrape: the workers' status, the store's head and pool, refusals. */
@Injectable()
export class MetricsProbes implements OnApplicationBootstrap {
  constructor(
    @Inject(LedgerMetrics) private readonly metrics: LedgerMetrics,
    @Inject(EVENT_STORE) private readonly store: PostgresEventStore,
    @Inject(ProjectionsWorker) private readonly projections: ProjectionsWorker,
    @Inject(StoreMonitor) private readonly monitor: StoreMonitor,
    @Inject(AlertDispatcher) private readonly alerts: AlertDispatcher,
    @Inject(AccessRefusals) private readonly refusals: AccessRefusals,
  ) {}

  onApplicationBootstrap(): void {
    this.metrics.probe({
      projections: () => this.projections.runner?.status(),
      head: () => this.monitor.head,
      alerts: () => this.alerts.status(),
      pool: () => this.store.poolUsage(),
      refusals: () => this.refusals.counted(),
    });
  }
}
