export * from './audit-access.interceptor.js';
export * from './audit-access.recorder.js';
