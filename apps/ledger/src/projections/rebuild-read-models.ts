import { PostgresEventStore } from '@audit-ledger/event-store';
import {
  projectionsWithReconciliation,
  rebuildProjections,
  rebuildUnits,
  type RebuildProgress,
  type RebuiltUnit,
} from '@audit-ledger/read-models';

export interface RebuildReadModelsOptions {
  /** The database owner's URL (the ledger's DATABASE_URL). */
  databaseUrl: string;
  /** Projections to rebuild; default all. */
  names?: string[];
  onProgress?: (progress: RebuildProgress) => void;
  batchSize?: number;
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
  const store = await PostgresEventStore.connect({
    connectionString: options.databaseUrl,
    migrate: false,
    poolSize: 2,
  });
  try {
    return await rebuildProjections({
      store,
      connectionString: options.databaseUrl,
      projections: ledgerProjections(),
      ...(options.names ? { names: options.names } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.batchSize ? { batchSize: options.batchSize } : {}),
    });
  } finally {
    await store.close();
  }
}
