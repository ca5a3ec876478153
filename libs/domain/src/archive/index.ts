export * from './archive.events.js';
export * from './archive.decider.js';
