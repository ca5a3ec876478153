import type { EventStore } from '@audit-ledger/event-store';
import { Inject, Injectable, Optional, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { AlertDispatcher } from '@audit-ledger/alerts';
import type { LedgerConfig } from '../config/ledger.config.js';
import { DATABASE_URL, LEDGER_CONFIG, LOGGER, READABLE_EVENT_STORE } from '../shared/tokens.js';
import { RECONCILIATION_JUDGE, type AskJudge } from './ask-judge.js';
import type { ReconciliationStatus } from './reconciliation.processor.js';
import { startReconciliationProcessor, type RunningReconciliationProcessor } from './start-reconciliation.js';

const NOT_STARTED: ReconciliationStatus = {
  enabled: false,
  alive: false,
  position: '0',
  reconcilerVersion: '',
  handled: 0,
  appended: 0,
};

/**
 * The reconciliation processor (when `LEDGER_RECONCILIATION` is on), started with the app and stopped after its
 * transports: one process at a time reconciles, the others stand by (advisory leadership).
 */
@Injectable()
export class ReconciliationWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private running?: RunningReconciliationProcessor;

  constructor(
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(READABLE_EVENT_STORE) private readonly store: EventStore,
    @Inject(DATABASE_URL) private readonly databaseUrl: string,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(AlertDispatcher) private readonly alerts: AlertDispatcher,
    @Optional() @Inject(RECONCILIATION_JUDGE) private readonly judge: AskJudge | null,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.running = await startReconciliationProcessor(
      this.config,
      this.store,
      this.databaseUrl,
      this.logger,
      this.alerts,
      this.judge ?? undefined,
    );
  }

  status(): ReconciliationStatus {
    return this.running?.status() ?? NOT_STARTED;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.running?.stop();
  }
}
