import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import type { LedgerConfig } from '../config/ledger.config.js';
import { LEDGER_CONFIG, LOGGER } from '../shared/tokens.js';
import type { AlertDispatcher } from '@audit-ledger/alerts';
import { createAlerting } from '@audit-ledger/alerts';
import type { SseAlertSink } from '@audit-ledger/alerts';

/**
 * The configured alert sinks behind one dispatcher (SSE always). Open event streams are ended before the transports
 * close (they would hold the HTTP server open); the dispatcher closes after the workers that publish to it stopped
 * (what is still queued is dead-lettered).
 */
@Injectable()
export class Alerting implements BeforeApplicationShutdown, OnApplicationShutdown {
  readonly dispatcher: AlertDispatcher;
  readonly sse: SseAlertSink;

  constructor(@Inject(LEDGER_CONFIG) config: LedgerConfig, @Inject(LOGGER) logger: Logger) {
    ({ dispatcher: this.dispatcher, sse: this.sse } = createAlerting(config, logger));
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.sse.close();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.dispatcher.close();
  }
}
