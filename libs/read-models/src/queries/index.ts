export * from './csv.js';
export * from './cursor.js';
export * from './read-model-queries.js';
export * from './summary-query.js';
export * from './read-model-items.schema.js';
export * from './dashboard-overview.js';
