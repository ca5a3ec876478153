export * from './conflict-retry-policy.js';
export * from './handle-decider-command.js';
