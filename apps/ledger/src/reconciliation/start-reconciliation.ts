import { RECONCILER_VERSION } from '@audit-ledger/domain';
import type { EventStore } from '@audit-ledger/event-store';
import pg from 'pg';
import type { Logger } from 'pino';
import type { AlertDispatcher } from '@audit-ledger/alerts';
import { createAlerting } from '@audit-ledger/alerts';
import type { SseAlertSink } from '@audit-ledger/alerts';
import type { LedgerConfig } from '../config/ledger.config.js';
import { systemClock } from '../shared/tokens.js';
import { boundedJudge, type AskJudge } from './ask-judge.js';
import { llmJudgeFromConfig } from './llm-judge.js';
import { AdvisoryLeadership } from '../leadership/advisory-leadership.js';
import { ProcessCheckpoints } from './process-checkpoints.js';
import { ReconciliationProcessor, type ReconciliationStatus } from './reconciliation.processor.js';

export interface RunningReconciliation {
  alerts: AlertDispatcher;
  sseAlerts: SseAlertSink;
  /** The LLM judge when `LEDGER_JUDGE_URL` is set (the processor and `reconcile --since` ask it); else undefined. */
  judge?: AskJudge;
  status(): ReconciliationStatus;
  /** Stops the processor, then the alert queues (what is still queued is dead-lettered), then its connections. */
  stop(): Promise<void>;
}

/** The reconciliation processor under leadership, without the alerting it publishes to (a feature of its own). */
export interface RunningReconciliationProcessor {
  status(): ReconciliationStatus;
  /** Stops the processor (gives up leadership), then its connections. */
  stop(): Promise<void>;
}

/**
 * Alerting (always: the SSE stream exists even with nothing to send) and, when enabled, the reconciliation
 * processor: what the ledger runs, for callers outside the Nest app (the benchmarks).
 */
export async function startReconciliation(
  config: LedgerConfig,
  store: EventStore,
  databaseUrl: string,
  logger: Logger,
): Promise<RunningReconciliation> {
  const { dispatcher, sse } = createAlerting(config, logger);
  const judge = askJudgeFromConfig(config, logger);
  const processor = await startReconciliationProcessor(config, store, databaseUrl, logger, dispatcher, judge).catch(
    async (error: unknown) => {
      await dispatcher.close();
      throw error;
    },
  );
  return {
    alerts: dispatcher,
    sseAlerts: sse,
    ...(judge ? { judge } : {}),
    status: () => processor.status(),
    async stop() {
      await processor.stop();
      await dispatcher.close();
    },
  };
}

/**
 * When enabled, the reconciliation processor: one process at a time reconciles (advisory leadership), the others
 * stand by. Its tables live in `ledger_process`, written on the owner's connection (the store's connections run as
 * `ledger_writer`).
 */
export async function startReconciliationProcessor(
  config: LedgerConfig,
  store: EventStore,
  databaseUrl: string,
  logger: Logger,
  dispatcher: AlertDispatcher,
  judge: AskJudge | undefined,
): Promise<RunningReconciliationProcessor> {
  if (!config.reconciliationEnabled) {
    return {
      status: () => ({ enabled: false, alive: false, position: '0', reconcilerVersion: '', handled: 0, appended: 0 }),
      stop: async () => undefined,
    };
  }
  // The processor's tables hold derived state only (process-checkpoints.ts): their commits need not wait for the WAL
  // flush. A crash loses at most the last writes, in commit order (WAL replay keeps a prefix), so a surviving
  // checkpoint never lies past a lost pending expiry; the processor handles the events after the checkpoint again,
  // which appends nothing new. Verdicts go through the event store, whose commits stay synchronous.
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2, options: '-c synchronous_commit=off' });
  pool.on('error', (error) => logger.warn({ err: error }, 'reconciliation pool connection lost'));
  // A connection that dies while checked out emits 'error' too: its query fails, the process must not.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const checkpoints = new ProcessCheckpoints(pool);
  const log = logger.child({ component: 'reconciliation' });
  let processor: ReconciliationProcessor | undefined;
  // One process at a time reconciles; the others stand by and take over when it stops or dies.
  const leadership = new AdvisoryLeadership(
    { connectionString: databaseUrl, name: 'reconciliation', logger: log, retryMs: config.leaderRetryMs },
    async () => {
      const term = new ReconciliationProcessor(store, checkpoints, dispatcher, systemClock, log, {
        unusedIntervalMs: config.reconciliationUnusedIntervalMs,
        alertOnUnclear: config.alertOnUnclear,
        ...(judge ? { judge } : {}),
      });
      await term.start();
      processor = term;
      return {
        async stop() {
          await term.stop();
          if (processor === term) processor = undefined;
        },
      };
    },
  );
  try {
    await checkpoints.ensureSchema();
    await leadership.start();
  } catch (error) {
    await leadership.stop();
    await pool.end();
    throw error;
  }
  return {
    status: () => ({
      ...(processor?.status() ?? {
        enabled: true,
        alive: false,
        position: '0',
        reconcilerVersion: RECONCILER_VERSION,
        handled: 0,
        appended: 0,
      }),
      leadership: leadership.status(),
    }),
    async stop() {
      await leadership.stop();
      await pool.end();
    },
  };
}

/** Off unless `LEDGER_JUDGE_URL` is set. The bound is the adapter's timeout plus a second for a judge ignoring it. */
export function askJudgeFromConfig(config: LedgerConfig, logger: Logger): AskJudge | undefined {
  const judgeLogger = logger.child({ component: 'llm-judge' });
  const judge = llmJudgeFromConfig(config, (reason) => judgeLogger.warn({ reason }, 'LLM judge gave no answer'));
  if (!judge) return undefined;
  judgeLogger.info({ url: config.judgeUrl, model: judge.model, promptVersion: judge.promptVersion }, 'LLM judge on');
  return boundedJudge(judge, config.judgeTimeoutMs + 1000);
}
