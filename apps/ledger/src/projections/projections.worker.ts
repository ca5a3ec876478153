import type { EventStore } from '@audit-ledger/event-store';
import {
  ProjectionRunner,
  projectionsWithReconciliation,
  ReadModelRetention,
  type ProjectionRunnerStatus,
} from '@audit-ledger/read-models';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { AlertDispatcher } from '@audit-ledger/alerts';
import { parkedEventAlert } from '@audit-ledger/alerts';
import type { LedgerConfig } from '../config/ledger.config.js';
import { DATABASE_URL, LEDGER_CONFIG, LOGGER, READABLE_EVENT_STORE } from '../shared/tokens.js';

/** The read models' projections (when `LEDGER_PROJECTIONS` is on); a parked event raises an alert. */
@Injectable()
export class ProjectionsWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  runner?: ProjectionRunner;

  constructor(
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(READABLE_EVENT_STORE) private readonly store: EventStore,
    @Inject(DATABASE_URL) private readonly databaseUrl: string,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(AlertDispatcher) private readonly alerts: AlertDispatcher,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.projectionsEnabled) return;
    this.runner = await ProjectionRunner.start({
      store: this.store,
      connectionString: this.databaseUrl,
      projections: projectionsWithReconciliation(),
      logger: this.logger,
      onParked: (notice) => this.alerts.publish(parkedEventAlert(notice)),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runner?.stop();
  }
}

/**
 * The read models' retention next to the projections it trims after (none when they are off). One process at a
 * time trims (advisory lock), the others skip. Started after the projections, stopped before them.
 */
@Injectable()
export class RetentionWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private retention?: ReadModelRetention;

  constructor(
    @Inject(ProjectionsWorker) private readonly projections: ProjectionsWorker,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(DATABASE_URL) private readonly databaseUrl: string,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.projections.runner) return;
    this.retention = new ReadModelRetention({
      connectionString: this.databaseUrl,
      retentionDays: this.config.readModelRetentionDays,
      intervalMs: this.config.retentionIntervalMs,
      logger: this.logger,
    });
    this.retention.start();
  }

  /** `/health`'s projections part: the runner's status with the retention's; undefined when projections are off. */
  projectionsStatus(): ProjectionRunnerStatus | undefined {
    const runner = this.projections.runner;
    if (!runner) return undefined;
    return { ...runner.status(), ...(this.retention ? { retention: this.retention.status() } : {}) };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.retention?.stop();
  }
}
