export * from './redaction-rules.js';
export * from './redactor.js';
export * from './redaction-config.js';
export * from './redact-fields.js';
