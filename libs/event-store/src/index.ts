export * from './event-store.port.js';
export * from './errors.js';
export * from './postgres/embedded-postgres.server.js';
