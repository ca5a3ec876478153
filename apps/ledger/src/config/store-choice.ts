import type { LedgerConfig } from './ledger.config.js';
import { ENVIRONMENT_VARIABLES } from './ledger.config.js';

/** The configured event store cannot carry the ledger: the start stops before anything is opened. */
class UnsupportedEventStoreError extends Error {
  readonly code = 'CONFIG.EVENT_STORE_UNSUPPORTED';
}

/**
 * The parts of the ledger that read PostgreSQL's events table directly rather than through the event-store port,
 * so they cannot run on KurrentDB events (docs/operations.md, "Choosing the event store").
 */
export const NEEDS_POSTGRES_EVENTS: readonly string[] = [
  'checkpoints: the sealer builds its Merkle trees from ledger.events and `ledger verify` re-reads that table',
  'the query API: its read positions (X-Read-Position, minPosition) compare projection checkpoints with the head of ledger.events',
  'the database-enforced append-only guarantee (triggers and privileges on ledger.events) and `ledger archive` / `ledger erase`',
];

/** Refuses `LEDGER_EVENT_STORE=kurrentdb` naming each part that needs PostgreSQL events; PostgreSQL passes. */
export function assertEventStoreSupported(config: LedgerConfig): void {
  if (config.eventStore === 'postgres') return;
  const store = ENVIRONMENT_VARIABLES.eventStore;
  if (!config.kurrentdbUrl) {
    throw new UnsupportedEventStoreError(`${store}=kurrentdb needs ${ENVIRONMENT_VARIABLES.kurrentdbUrl}`);
  }
  throw new UnsupportedEventStoreError(
    `refusing to start: ${store}=kurrentdb is not supported by the ledger process yet; these parts need PostgreSQL ` +
      `events: ${NEEDS_POSTGRES_EVENTS.map((part, i) => `(${i + 1}) ${part}`).join('; ')}. ` +
      `Start with ${store}=postgres; the KurrentDB adapter (libs/event-store) implements the event-store port for ` +
      'library use and passes its contract suite (docs/operations.md, "Choosing the event store")',
  );
}
