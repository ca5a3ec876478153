/** Names shared by the migrations, the adapter and its tests. The schema is a storage contract: change it only by migration. */
export const LEDGER_SCHEMA = 'ledger';
export const EVENTS_TABLE = 'ledger.events';
export const MIGRATIONS_TABLE = 'ledger.ledger_migrations';
/**
 * NOLOGIN role owning schema `ledger` and everything in it (issue 10, finding 5): the ledger's runtime login is not a
 * member, so it cannot ALTER, DROP or disable anything there; migrations hand what they create to it.
 */
export const OWNER_ROLE = 'ledger_owner';
/** Schema of the event trigger guarding the ledger's objects; owned by the superuser that created it, not the owner. */
export const GUARD_SCHEMA = 'ledger_guard';
/** SQLSTATE of the event trigger's refusal of DDL on the ledger's objects. */
export const DDL_REFUSED = 'LA002';
/** The role the running service uses: SELECT and INSERT on events, nothing else (design invariant 1). */
export const WRITER_ROLE = 'ledger_writer';
/** NOTIFY channel; the payload is the highest global position of the inserting statement. */
export const EVENTS_CHANNEL = 'ledger_events';
/** SQLSTATE raised by the triggers that reject UPDATE, DELETE and TRUNCATE on the events table. */
export const APPEND_ONLY_VIOLATION = 'LA001';
/** Registry of the events table's partitions (issue 13): bounds, when each closed, which the drop procedure released. */
export const PARTITIONS_TABLE = 'ledger.event_partitions';
/** SQLSTATE of the event trigger's refusal to detach or drop an event partition not released by `ledger archive drop`. */
export const PARTITION_REFUSED = 'LA003';
