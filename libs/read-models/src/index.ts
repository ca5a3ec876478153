export * from './projection.js';
export * from './projection-runner.js';
export * from './read-model-logger.js';
export { sendLater } from './statement-queue.js';
export {
  advisoryLockKey,
  runReadModelMigrations,
  CHECKPOINTS_TABLE,
  READ_MODELS_SCHEMA,
  READ_MODEL_MIGRATIONS_TABLE,
  PARKED_EVENTS_TABLE,
  RETENTION_TABLE,
  RUNNER_MIGRATIONS,
  type ReadModelMigrationReport,
} from './read-model-migrations.js';
export * from './projections/approvals.projection.js';
export * from './projections/executions.projection.js';
export * from './projections/reconciliation.projection.js';
export { defaultProjections, projectionsWithReconciliation } from './projections/default-projections.js';
export * from './queries/index.js';
export * from './rebuild/projection-rebuild.js';
export { rebuildUnits, UnknownProjectionError, type RebuildUnit } from './rebuild/rebuild-units.js';
export { inSchema, schemaClient } from './rebuild/schema-rewrite.js';
export * from './summaries/duration-histogram.js';
export {
  DURATION_THRESHOLDS_SQL,
  ROLLUP_DIMENSIONS,
  ROLLUP_GRAINS,
  SUMMARY_ROLLUPS,
  type RollupDimension,
  type RollupGrain,
} from './projections/summary-rollup.js';
export { countParked, type OnParked, type ParkedEvent, type ParkedEventNotice } from './parked-events.js';
export * from './retry-parked.js';
export * from './retention/retention-window.js';
export * from './retention/trim-read-models.js';
export * from './retention/read-model-retention.job.js';
