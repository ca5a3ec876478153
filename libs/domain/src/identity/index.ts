export * from './roles.js';
export * from './principal.js';
export * from './api-key.events.js';
export * from './api-key.requests.js';
export * from './principals.decider.js';
