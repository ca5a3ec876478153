export * from './checkpoint-sealer.js';
export * from './integrity-keys.js';
export * from './verifier.js';
export * from './witness-file.js';
export * from './evidence-exporter.js';
export * from './evidence-bundle.js';
