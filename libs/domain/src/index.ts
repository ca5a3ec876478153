export * from './shared/ledger-error.js';
export * from './shared/primitives.js';
export * from './shared/stream-ids.js';
export * from './approvals/approval.events.js';
export * from './approvals/approval.requests.js';
export * from './approvals/approval.decider.js';
export * from './reconciliation/index.js';
