export * from './checkpoint-sealer.js';
export * from './integrity-keys.js';
export * from './verifier.js';
export * from './witness-file.js';
