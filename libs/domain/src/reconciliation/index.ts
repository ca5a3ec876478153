export * from './reconciliation.types.js';
export * from './normalise.js';
export * from './shell-parser.js';
export * from './risk-rules.js';
export * from './intent.js';
export * from './reconcile.js';
export * from './judge.js';
export * from './effects/index.js';
