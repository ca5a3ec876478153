export * from './erasure.events.js';
export * from './erasure.decider.js';
