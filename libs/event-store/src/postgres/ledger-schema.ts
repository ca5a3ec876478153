/** Names shared by the migrations, the adapter and its tests. The schema is a storage contract: change it only by migration. */
export const LEDGER_SCHEMA = 'ledger';
export const EVENTS_TABLE = 'ledger.events';
export const MIGRATIONS_TABLE = 'ledger.ledger_migrations';
/** The role the running service uses: SELECT and INSERT on events, nothing else (design invariant 1). */
export const WRITER_ROLE = 'ledger_writer';
/** NOTIFY channel; the payload is the highest global position of the inserting statement. */
export const EVENTS_CHANNEL = 'ledger_events';
/** SQLSTATE raised by the triggers that reject UPDATE, DELETE and TRUNCATE on the events table. */
export const APPEND_ONLY_VIOLATION = 'LA001';
