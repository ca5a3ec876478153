export * from './canonical-json.js';
export * from './canonical-json-bytes.js';
export * from './hash-chain.js';
export * from './digest.js';
export * from './merkle.js';
export * from './signing-keys.js';
export * from './checkpoint.js';
export * from './evidence-bundle.js';
