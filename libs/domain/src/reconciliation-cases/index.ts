export * from './reconciliation-case.js';
export * from './case-scoring.js';
export * from './case-report.js';
