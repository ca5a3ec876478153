export * from './event-store.port.js';
export * from './errors.js';
export { contentDifferences } from './content-differences.js';
export * from './postgres/embedded-postgres.server.js';
export { serverUser as embeddedServerUser, type OsUser } from './postgres/embedded/os-user.js';
export {
  PostgresEventStore,
  type EventStoreHealth,
  type PostgresEventStoreOptions,
} from './postgres/postgres-event-store.js';
export { runMigrations, type MigrationReport } from './postgres/migrations.js';
export { MIGRATIONS, type Migration } from './postgres/migration-scripts.js';
export { type EventStoreLogger } from './postgres/logger.js';
export {
  APPEND_ONLY_VIOLATION,
  DDL_REFUSED,
  EVENTS_CHANNEL,
  EVENTS_TABLE,
  OWNER_ROLE,
  WRITER_ROLE,
} from './postgres/ledger-schema.js';
export * from './kurrentdb/kurrentdb-event-store.js';
export * from './decider-command/index.js';
export { toWireEvent } from './wire-event.js';
