export * from './roles.js';
export * from './principal.js';
