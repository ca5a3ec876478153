import type { ClientLogger, LogFields } from '@audit-ledger/client';
import type { CliIo } from './cli-io.js';

const render = (fields: LogFields) =>
  Object.entries(fields)
    .map(([key, value]) => `${key}=${typeof value === 'string' && !/\s/.test(value) ? value : JSON.stringify(value)}`)
    .join(' ');

/** The client's warnings as `warning: <message> (key=value …)` lines on stderr; its progress notes stay quiet. */
export function cliLogger(io: CliIo): ClientLogger {
  return {
    info: () => undefined,
    warn: (fields, message) => io.err(`warning: ${message} (${render(fields)})\n`),
    error: (fields, message) => io.err(`error: ${message} (${render(fields)})\n`),
  };
}
