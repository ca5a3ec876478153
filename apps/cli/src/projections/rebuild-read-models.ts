import {
  projectionsWithReconciliation,
  readRetentionState,
  rebuildProjections,
  rebuildUnits,
  trimReadModels,
  type TrimReport,
  type RebuildProgress,
  type RebuiltUnit,
} from '@audit-ledger/read-models';
import pg from 'pg';
import { pino } from 'pino';
import { alertingConfigFromEnvironment, createAlerting, parkedEventAlert } from '@audit-ledger/alerts';
import { openReadableStore } from './readable-store.js';

export interface RebuildReadModelsOptions {
  /** The database owner's URL (the ledger's DATABASE_URL). */
  databaseUrl: string;
  /** Projections to rebuild; default all. */
  names?: string[];
  onProgress?: (progress: RebuildProgress) => void;
  batchSize?: number;
  /**
   * Send each event the rebuild parks to the webhook and Slack sinks the environment configures
   * (`LEDGER_ALERT_WEBHOOK_URL`, `LEDGER_ALERT_SLACK_URL`, as for the ledger), after the swap; the command waits for
   * delivery (or the dead-letter file in `LEDGER_DATA_DIR`). Delivery failures are logged on stderr.
   */
  alertFromEnvironment?: boolean;
  /** After the swap, with what the retention trimmed again (rows before the cut it had reached were rebuilt). */
  onTrimmed?: (report: TrimReport) => void;
}

/** The projections the ledger runs (`startLedger`), in its order: the ones `ledger projections rebuild` knows. */
export function ledgerProjections() {
  return projectionsWithReconciliation();
}

/** Which projections rebuilding `names` takes, grouped by shared tables; throws UnknownProjectionError. */
export function plannedRebuild(names?: string[]) {
  return rebuildUnits(ledgerProjections(), names).map((unit) => ({
    projections: unit.projections.map((p) => p.name),
    tables: unit.tables,
  }));
}

/**
 * `ledger projections rebuild`: reads the events through the PostgreSQL event store (as the ledger does, without
 * migrating it) and rebuilds the ledger's read models in the same database, next to a running ledger.
 */
export async function rebuildReadModels(options: RebuildReadModelsOptions): Promise<RebuiltUnit[]> {
  const alerting = options.alertFromEnvironment ? alertingFromEnvironment() : undefined;
  const { store, close } = await openReadableStore(options.databaseUrl);
  try {
    const units = await rebuildProjections({
      store,
      connectionString: options.databaseUrl,
      projections: ledgerProjections(),
      ...(options.names ? { names: options.names } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.batchSize ? { batchSize: options.batchSize } : {}),
      ...(alerting ? { onParked: (notice) => alerting.publish(parkedEventAlert(notice)) } : {}),
    });
    const trimmed = await trimToRecordedCut(options.databaseUrl);
    if (trimmed) options.onTrimmed?.(trimmed);
    return units;
  } finally {
    await close();
    if (alerting) {
      await alerting.idle();
      await alerting.close();
    }
  }
}

/** The webhook and Slack sinks the environment asks for (no SSE: nobody listens to a command); none: undefined. */
function alertingFromEnvironment() {
  // Without a sink to send to, the rest of the ledger's configuration is none of a rebuild's business.
  if (!process.env['LEDGER_ALERT_WEBHOOK_URL'] && !process.env['LEDGER_ALERT_SLACK_URL']) return undefined;
  const config = alertingConfigFromEnvironment();
  const logger = pino({ level: 'warn', base: { service: 'audit-ledger' } }, pino.destination(2));
  return createAlerting(config, logger).dispatcher;
}

/**
 * A rebuild re-creates every row from position 0, also those the retention had trimmed: trims them again right after
 * the swap, back to the cut the retention had reached (`read_models.retention.trimmed_before`; none: nothing). The
 * summaries already read the rollups alone before that cut, so they do not change in between.
 */
async function trimToRecordedCut(databaseUrl: string): Promise<TrimReport | undefined> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  pool.on('error', () => undefined); // a connection ending as the server stops: the query, if any, fails with it
  const state = await readRetentionState(pool).finally(() => pool.end());
  if (!state?.trimmedBefore) return undefined;
  return trimReadModels({
    connectionString: databaseUrl,
    cutoff: state.trimmedBefore,
    waitForLock: true,
  });
}
