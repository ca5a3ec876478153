import type { EventStore } from '@audit-ledger/event-store';
import pg from 'pg';
import type { Logger } from 'pino';
import type { AlertDispatcher } from '../alerts/alert-dispatcher.js';
import { createAlerting } from '../alerts/alert-sinks.js';
import type { SseAlertSink } from '../alerts/sse.alert-sink.js';
import type { LedgerConfig } from '../config/ledger.config.js';
import { systemClock } from '../shared/tokens.js';
import { ProcessCheckpoints } from './process-checkpoints.js';
import { ReconciliationProcessor, type ReconciliationStatus } from './reconciliation.processor.js';

export interface RunningReconciliation {
  alerts: AlertDispatcher;
  sseAlerts: SseAlertSink;
  status(): ReconciliationStatus;
  /** Stops the processor, then the alert queues (what is still queued is dead-lettered), then its connections. */
  stop(): Promise<void>;
}

/**
 * Alerting (always: the SSE stream exists even with nothing to send) and, when enabled, the reconciliation
 * processor. Its tables live in `ledger_process`, written on the owner's connection (the store's connections run as
 * `ledger_writer`).
 */
export async function startReconciliation(
  config: LedgerConfig,
  store: EventStore,
  databaseUrl: string,
  logger: Logger,
): Promise<RunningReconciliation> {
  const { dispatcher, sse } = createAlerting(config, logger);
  if (!config.reconciliationEnabled) {
    return {
      alerts: dispatcher,
      sseAlerts: sse,
      status: () => ({ enabled: false, alive: false, position: '0', reconcilerVersion: '', handled: 0, appended: 0 }),
      stop: () => dispatcher.close(),
    };
  }
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  pool.on('error', (error) => logger.warn({ err: error }, 'reconciliation pool connection lost'));
  const processor = new ReconciliationProcessor(
    store,
    new ProcessCheckpoints(pool),
    dispatcher,
    systemClock,
    logger.child({ component: 'reconciliation' }),
    { unusedIntervalMs: config.reconciliationUnusedIntervalMs, alertOnUnclear: config.alertOnUnclear },
  );
  try {
    await processor.start();
  } catch (error) {
    await dispatcher.close();
    await pool.end();
    throw error;
  }
  return {
    alerts: dispatcher,
    sseAlerts: sse,
    status: () => processor.status(),
    async stop() {
      await processor.stop();
      await dispatcher.close();
      await pool.end();
    },
  };
}
