import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import type { LedgerConfig } from '../config/ledger.config.js';
import { LedgerMetrics } from '../metrics/ledger-metrics.js';
import { ADMIN_DATABASE_URL, DATABASE_URL, LEDGER_CONFIG, LOGGER } from '../shared/tokens.js';
import type { PartitionsStatus } from './partitions-status.js';
import { startPartitionRolling, type PartitionRolling } from './start-partition-rolling.js';

/**
 * The events table's partitions rolled by the running ledger (LEDGER_PARTITION_ROLL). Started when the modules
 * initialise, before any worker appends and before the transports listen: a period that ended while no ledger ran
 * gets its partition closed first.
 */
@Injectable()
export class PartitionsWorker implements OnModuleInit, OnApplicationShutdown {
  private rolling?: PartitionRolling;

  constructor(
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(DATABASE_URL) private readonly databaseUrl: string,
    @Inject(ADMIN_DATABASE_URL) private readonly adminUrl: string,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly metrics: LedgerMetrics,
  ) {}

  async onModuleInit(): Promise<void> {
    this.rolling = await startPartitionRolling({
      enabled: this.config.partitionRoll,
      period: this.config.partitionPeriod,
      checkIntervalMs: this.config.partitionCheckIntervalMs,
      leaderRetryMs: this.config.leaderRetryMs,
      databaseUrl: this.databaseUrl,
      adminUrl: this.adminUrl,
      logger: this.logger,
      metrics: this.metrics,
    });
  }

  /** For `/health` (`partitions`). */
  status(): PartitionsStatus {
    return this.rolling?.status() ?? { enabled: false };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.rolling?.stop();
  }
}
