/** Injection tokens of the ports the app wires. */
export const EVENT_STORE = Symbol('EVENT_STORE');
export const CLOCK = Symbol('CLOCK');
export const LEDGER_CONFIG = Symbol('LEDGER_CONFIG');
export const LOGGER = Symbol('LOGGER');
export const TOKEN_SECRET = Symbol('TOKEN_SECRET');
/** The Redactor every incoming command's texts go through before they are hashed or stored. */
export const REDACTOR = Symbol('REDACTOR');
/** The ledger database's owner URL (PostgreSQL), for readers that bypass the event store port (the verifier). */
export const DATABASE_URL = Symbol('DATABASE_URL');
/** The migrations' login (LEDGER_MIGRATION_DATABASE_URL, else the runtime one): what may change the tables' structure. */
export const ADMIN_DATABASE_URL = Symbol('ADMIN_DATABASE_URL');
/**
 * The event store as readers of content see it: sealed fields opened, `[erased]` where the key is gone, and what is
 * appended through it sealed (libs/payload-keys/src/decrypting-event-store.ts). For the reconciler; never for what hashes events.
 */
export const READABLE_EVENT_STORE = Symbol('READABLE_EVENT_STORE');
/** Seals an execution's sensitive fields before the append and opens them for readers (libs/payload-keys/src/payload-cipher.ts). */
export const PAYLOAD_CIPHER = Symbol('PAYLOAD_CIPHER');
/** Destroys a stream's data keys and scrubs the read models (libs/payload-keys/src/payload-erasure.ts). */
export const PAYLOAD_ERASURE = Symbol('PAYLOAD_ERASURE');

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };
